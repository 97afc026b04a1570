// ONNX import through the protobuf classes of Debian's libonnx (onnx_proto).

#include "model/importer.h"

#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace dl {

namespace {

std::string lowerExtension(const std::string& path)
{
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
    std::string ext = path.substr(dot + 1);
    for (char& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

// A file's bytes for parsing: mapped read-only when the file can be mapped (no copy: opening a 170 MB model read
// it into a growing string and copied it twice more), else read into memory (pipes, special files).
class FileBytes
{
public:
    static Result<FileBytes> open(const std::string& path)
    {
        FileBytes f;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return makeError(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
        struct stat st
        {
        };
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                ::close(fd);
                f.m_map = p;
                f.m_size = static_cast<size_t>(st.st_size);
                return f;
            }
        }
        ::close(fd);
        std::ifstream in(path, std::ios::binary);
        if (!in) return makeError(ErrorCode::Io, "cannot open '" + path + "': " + std::strerror(errno));
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) return makeError(ErrorCode::Io, "cannot read '" + path + "'");
        f.m_copy = ss.str();
        return f;
    }
    FileBytes() = default;
    FileBytes(FileBytes&& o) noexcept
        : m_map(std::exchange(o.m_map, nullptr))
        , m_size(std::exchange(o.m_size, 0))
        , m_copy(std::move(o.m_copy))
    { }
    FileBytes& operator=(FileBytes&&) = delete;
    FileBytes(const FileBytes&) = delete;
    ~FileBytes()
    {
        if (m_map) ::munmap(m_map, m_size);
    }
    const void* data() const { return m_map ? m_map : m_copy.data(); }
    size_t size() const { return m_map ? m_size : m_copy.size(); }

private:
    void* m_map = nullptr;
    size_t m_size = 0;
    std::string m_copy;
};

bool parseMessage(google::protobuf::MessageLite& msg, const void* data, size_t size)
{
    if (size > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
    google::protobuf::io::ArrayInputStream raw(data, static_cast<int>(size));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
    return msg.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

bool knownType(int t)
{
    switch (static_cast<DType>(t)) {
    case DType::F32:
    case DType::U8:
    case DType::I8:
    case DType::U16:
    case DType::I16:
    case DType::I32:
    case DType::I64:
    case DType::Bool:
    case DType::F16:
    case DType::F64:
    case DType::U32:
    case DType::U64:
        return true;
    default:
        return false;
    }
}

template <typename Dst, typename Src> Status copyField(Tensor& t, const Src& field, const std::string& what)
{
    if (static_cast<int64_t>(field.size()) != t.numel())
        return makeError(ErrorCode::Corrupt,
            what + ": holds " + std::to_string(field.size()) + " values for shape " + shapeToString(t.shape()));
    Dst* d = t.ptr<Dst>();
    for (int i = 0; i < field.size(); ++i)
        d[i] = static_cast<Dst>(field.Get(i));
    return {};
}

} // namespace

// Converts a TensorProto; `what` names it in errors. Float16 stays float16 here (callers widen weights).
Result<Tensor> tensorFromProto(const onnx::TensorProto& p, const std::string& what)
{
    if (p.data_location() == onnx::TensorProto::EXTERNAL)
        return unsupported(what + ": external tensor data is not supported; save the model with its weights inside");
    if (p.data_type() == onnx::TensorProto::STRING) return unsupported(what + ": string tensors are not supported");
    if (!knownType(p.data_type()))
        return unsupported(what + ": tensor element type " + std::to_string(p.data_type()) + " is not supported");
    Shape shape;
    for (int64_t d : p.dims()) {
        if (d < 0) return makeError(ErrorCode::Corrupt, what + ": negative dimension " + std::to_string(d));
        shape.push_back(d);
    }
    const DType dt = static_cast<DType>(p.data_type());
    // Guard the allocation against absurd shapes in a malformed file.
    long double elems = 1;
    for (int64_t d : shape)
        elems *= static_cast<long double>(d);
    if (elems * dtypeSize(dt) > static_cast<long double>(1ull << 40))
        return makeError(ErrorCode::Corrupt, what + ": shape " + shapeToString(shape) + " is implausibly large");
    Tensor t(dt, shape);
    if (p.has_raw_data()) {
        if (p.raw_data().size() != t.bytes())
            return makeError(ErrorCode::Corrupt,
                what + ": raw data has " + std::to_string(p.raw_data().size()) + " bytes, shape " + shapeToString(shape)
                    + " of " + dtypeName(dt) + " needs " + std::to_string(t.bytes()));
        if (t.bytes()) std::memcpy(t.data(), p.raw_data().data(), t.bytes());
        return t;
    }
    switch (dt) {
    case DType::F32:
        DL_TRY(copyField<float>(t, p.float_data(), what));
        break;
    case DType::F64:
        DL_TRY(copyField<double>(t, p.double_data(), what));
        break;
    case DType::I64:
        DL_TRY(copyField<int64_t>(t, p.int64_data(), what));
        break;
    case DType::U32:
    case DType::U64:
        if (dt == DType::U32)
            DL_TRY(copyField<uint32_t>(t, p.uint64_data(), what));
        else
            DL_TRY(copyField<uint64_t>(t, p.uint64_data(), what));
        break;
    // The remaining types are stored in int32_data, one value per element (float16 as its bit pattern).
    case DType::I32:
        DL_TRY(copyField<int32_t>(t, p.int32_data(), what));
        break;
    case DType::I16:
        DL_TRY(copyField<int16_t>(t, p.int32_data(), what));
        break;
    case DType::U16:
    case DType::F16:
        DL_TRY(copyField<uint16_t>(t, p.int32_data(), what));
        break;
    case DType::I8:
        DL_TRY(copyField<int8_t>(t, p.int32_data(), what));
        break;
    case DType::U8:
    case DType::Bool:
        DL_TRY(copyField<uint8_t>(t, p.int32_data(), what));
        break;
    default:
        break;
    }
    return t;
}

namespace {

ValueInfo valueInfoFromProto(const onnx::ValueInfoProto& v)
{
    ValueInfo info;
    info.name = v.name();
    if (v.type().has_tensor_type()) {
        const auto& tt = v.type().tensor_type();
        info.dtype = static_cast<DType>(tt.elem_type());
        if (tt.has_shape()) {
            info.hasShape = true;
            for (const auto& d : tt.shape().dim()) {
                Dim dim;
                if (d.has_dim_value())
                    dim.value = d.dim_value();
                else
                    dim.param = d.dim_param();
                info.dims.push_back(dim);
            }
        }
    }
    return info;
}

Result<Attribute> attributeFromProto(const onnx::AttributeProto& a, const std::string& where)
{
    Attribute out;
    using A = onnx::AttributeProto;
    switch (a.type()) {
    case A::FLOAT:
        out.kind = Attribute::Kind::Float;
        out.f = a.f();
        break;
    case A::INT:
        out.kind = Attribute::Kind::Int;
        out.i = a.i();
        break;
    case A::STRING:
        out.kind = Attribute::Kind::String;
        out.s = a.s();
        break;
    case A::TENSOR: {
        out.kind = Attribute::Kind::Tensor;
        DL_ASSIGN(out.t, tensorFromProto(a.t(), where + " attribute '" + a.name() + "'"));
        break;
    }
    case A::FLOATS:
        out.kind = Attribute::Kind::Floats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
    case A::INTS:
        out.kind = Attribute::Kind::Ints;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
    case A::STRINGS:
        out.kind = Attribute::Kind::Strings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
    case A::GRAPH:
    case A::GRAPHS:
        out.kind = Attribute::Kind::Graph; // subgraphs (If, Loop, Scan) are not executed
        break;
    default:
        // Older writers leave `type` unset; infer it from the populated field.
        if (a.has_f()) {
            out.kind = Attribute::Kind::Float;
            out.f = a.f();
        } else if (a.has_i()) {
            out.kind = Attribute::Kind::Int;
            out.i = a.i();
        } else if (a.has_s()) {
            out.kind = Attribute::Kind::String;
            out.s = a.s();
        } else if (a.ints_size()) {
            out.kind = Attribute::Kind::Ints;
            out.ints.assign(a.ints().begin(), a.ints().end());
        } else if (a.floats_size()) {
            out.kind = Attribute::Kind::Floats;
            out.floats.assign(a.floats().begin(), a.floats().end());
        } else {
            return unsupported(where + ": attribute '" + a.name() + "' has an unsupported type");
        }
    }
    return out;
}

// A Constant node's value as a tensor (value, value_float, value_floats, value_int, value_ints).
Result<Tensor> constantValue(const Node& n)
{
    if (n.has("value")) return n.attrs.at("value").t;
    if (n.has("value_float")) {
        Tensor t(DType::F32, {});
        *t.ptr<float>() = n.attrFloat("value_float", 0);
        return t;
    }
    if (n.has("value_floats")) {
        auto v = n.attrFloats("value_floats");
        Tensor t(DType::F32, { static_cast<int64_t>(v.size()) });
        std::copy(v.begin(), v.end(), t.ptr<float>());
        return t;
    }
    if (n.has("value_int")) {
        Tensor t(DType::I64, {});
        *t.ptr<int64_t>() = n.attrInt("value_int", 0);
        return t;
    }
    if (n.has("value_ints")) {
        auto v = n.attrInts("value_ints");
        Tensor t(DType::I64, { static_cast<int64_t>(v.size()) });
        std::copy(v.begin(), v.end(), t.ptr<int64_t>());
        return t;
    }
    return unsupported(n.describe() + ": Constant without a supported value attribute");
}

} // namespace

Result<Graph> importOnnxBytes(const void* data, size_t size, const std::string& sourceName)
{
    onnx::ModelProto model;
    if (size == 0) return makeError(ErrorCode::Corrupt, "'" + sourceName + "' is empty, not an ONNX model");
    if (!parseMessage(model, data, size))
        return makeError(ErrorCode::Corrupt,
            "'" + sourceName
                + "' is not a valid ONNX model (protobuf parse failed: the file is truncated or not ONNX)");
    if (!model.has_graph())
        return makeError(ErrorCode::Corrupt, "'" + sourceName + "' has no graph: not an ONNX model");

    Graph g;
    g.sourcePath = sourceName;
    g.format = "onnx";
    g.producer = model.producer_name();
    for (const auto& op : model.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
    if (g.opset == 0) g.opset = model.ir_version() >= 3 ? 7 : 1;

    const auto& pg = model.graph();
    g.name = pg.name();
    for (const auto& init : pg.initializer()) {
        DL_ASSIGN(Tensor t, tensorFromProto(init, "initializer '" + init.name() + "'"));
        if (t.dtype() == DType::F16) {
            t = t.cast(DType::F32);
            ++g.halfWeights;
        }
        g.weights[init.name()] = std::move(t);
    }
    for (const auto& in : pg.input())
        if (!g.isWeight(in.name())) g.inputs.push_back(valueInfoFromProto(in));
    for (const auto& out : pg.output())
        g.outputs.push_back(valueInfoFromProto(out));
    if (g.outputs.empty()) return makeError(ErrorCode::Corrupt, "'" + sourceName + "' declares no graph outputs");

    int index = 0;
    for (const auto& pn : pg.node()) {
        Node n;
        n.name = pn.name();
        n.opType = pn.op_type();
        n.domain = pn.domain();
        n.inputs.assign(pn.input().begin(), pn.input().end());
        n.outputs.assign(pn.output().begin(), pn.output().end());
        const std::string where = "node " + std::to_string(index) + " '" + (n.name.empty() ? n.opType : n.name) + "'";
        for (const auto& a : pn.attribute()) {
            DL_ASSIGN(Attribute attr, attributeFromProto(a, where));
            n.attrs[a.name()] = std::move(attr);
        }
        ++index;
        // Constant nodes carry weights (PaddleOCR keeps all its weights this way): make them weights.
        if (n.opType == "Constant" && (n.domain.empty() || n.domain == "ai.onnx") && n.outputs.size() == 1) {
            DL_ASSIGN(Tensor t, constantValue(n));
            if (t.dtype() == DType::F16) {
                t = t.cast(DType::F32);
                ++g.halfWeights;
            }
            g.weights[n.outputs[0]] = std::move(t);
            continue;
        }
        g.nodes.push_back(std::move(n));
    }
    // A graph output that is directly a weight is legal; keep it (the executor outputs the constant).
    DL_TRY(topologicalSort(g));
    return g;
}

Result<Graph> importOnnx(const std::string& path, const ImportOptions& options)
{
    if (options.progress && !options.progress(0.0)) return makeError(ErrorCode::Cancelled, "import cancelled");
    DL_ASSIGN(FileBytes bytes, FileBytes::open(path));
    if (options.progress && !options.progress(0.5)) return makeError(ErrorCode::Cancelled, "import cancelled");
    auto g = importOnnxBytes(bytes.data(), bytes.size(), path);
    if (g.ok() && options.progress) options.progress(1.0);
    return g;
}

Result<Graph> importModel(const std::string& path, const ImportOptions& options)
{
    const std::string ext = lowerExtension(path);
    if (ext == "onnx") return importOnnx(path, options);
    if (ext == "cfg") return importDarknet(path, options);
    return invalid("'" + path + "': unknown model format (expected .onnx or a Darknet .cfg)");
}

Result<Tensor> readTensorProtoFile(const std::string& path, std::string* name)
{
    DL_ASSIGN(FileBytes bytes, FileBytes::open(path));
    onnx::TensorProto p;
    if (!parseMessage(p, bytes.data(), bytes.size()))
        return makeError(ErrorCode::Corrupt, "'" + path + "' is not an ONNX TensorProto");
    if (name) *name = p.name();
    return tensorFromProto(p, "'" + path + "'");
}

Status writeTensorProtoFile(const std::string& path, const Tensor& t, const std::string& name)
{
    onnx::TensorProto p;
    p.set_name(name);
    p.set_data_type(static_cast<int>(t.dtype()));
    for (int64_t d : t.shape())
        p.add_dims(d);
    p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.bytes()));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::Io, "cannot write '" + path + "': " + std::strerror(errno));
    if (!p.SerializeToOstream(&out)) return makeError(ErrorCode::Io, "cannot write '" + path + "'");
    return {};
}

} // namespace dl
