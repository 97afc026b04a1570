#pragma once

// Order statistics of measured times, as every report states them.

#include <vector>

namespace dl {

// The median (the mean of the middle two for an even count); 0 for no values.
double median(std::vector<double> values);
// The q-quantile (0..1), interpolated linearly between the nearest ranks; 0 for no values.
double quantile(std::vector<double> values, double q);

} // namespace dl
