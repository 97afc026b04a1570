// The benchmark networks, shared by the bench scripts: the Darknet cfgs of the repository (seeded weights) and the
// ONNX models scripts/fetch-models.sh puts in the model cache.
'use strict';
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cache = process.env.DL_CACHE || path.join(os.homedir(), '.cache/demand-layering');
const darknet = path.join(root, 'resources/models/darknet');
const onnx = path.join(cache, 'models');

// id: what --models takes; label: the table heading; args: how dlayer opens it (pack only: the pack remembers).
const allModels = [
  { id: 'yolov4', label: 'YOLOv4', file: path.join(darknet, 'yolov4.cfg'), args: [] },
  { id: 'resnet152', label: 'ResNet-152', file: path.join(darknet, 'resnet152.cfg'), args: [] },
  { id: 'densenet201', label: 'DenseNet-201', file: path.join(darknet, 'densenet201.cfg'), args: [] },
  { id: 'vgg-16', label: 'VGG-16', file: path.join(darknet, 'vgg-16.cfg'), args: [] },
  { id: 'isnet', label: 'ISNet', file: path.join(onnx, 'isnet.onnx'), args: [], input: '1x3x1024x1024' },
  { id: 'ppocr_det', label: 'PaddleOCR det', file: path.join(onnx, 'ppocr_det.onnx'),
    args: ['--shape', '1x3x640x640'], input: '1x3x640x640' },
];

// The models a --models list names ("yolov4,isnet"), all of them for none; exits 2 naming an unknown one.
function pickModels(list) {
  if (!list) return allModels;
  return list.split(',').map((id) => {
    const m = allModels.find((c) => c.id === id);
    if (!m) {
      console.error(`unknown model '${id}'; known: ${allModels.map((c) => c.id).join(', ')}`);
      process.exit(2);
    }
    return m;
  });
}

// The split `dlayer run --arch ARCH --budget` picks for a budget, as dlayer itself says (`dlayer info --budget`): the
// budget rule lives in the engine (engine/plan/budget.h), not here. `run(args, what)` runs dlayer and parses its JSON.
function splitFor(run, model, args, budgetBytes, arch = 'two-stage') {
  const info = run(['info', model, ...args, '--budget', `${Math.floor(budgetBytes)}`, '--arch', arch, '--json'],
    `split for a ${Math.floor(budgetBytes)}-byte budget`);
  return info ? info.split_bytes : null;
}

module.exports = { root, cache, darknet, onnx, allModels, pickModels, splitFor };
