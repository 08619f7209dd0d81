/* Accuracy of a load forecast against what was measured: mean absolute error, bias (mean
 * signed error, + = forecast too high) and RMSE over the slots where both are known. */
#include <math.h>
#include <string.h>

#include "balkon/error.h"
#include "balkon/optimizer.h"

int balkon_load_accuracy(const double *forecast_w, const double *actual_w, size_t count,
                         struct balkon_load_accuracy *out)
{
    double sum_abs = 0.0, sum_err = 0.0, sum_sq = 0.0, sum_actual = 0.0;
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    if (count > 0 && (!forecast_w || !actual_w))
        return BALKON_E_INVAL;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(forecast_w[i]) || !isfinite(actual_w[i]))
            continue;
        double err = forecast_w[i] - actual_w[i];
        sum_abs += fabs(err);
        sum_err += err;
        sum_sq += err * err;
        sum_actual += actual_w[i];
        n++;
    }
    if (n == 0)
        return BALKON_E_INVAL;
    out->count = n;
    out->mae_w = sum_abs / (double)n;
    out->bias_w = sum_err / (double)n;
    out->rmse_w = sqrt(sum_sq / (double)n);
    out->actual_mean_w = sum_actual / (double)n;
    return BALKON_OK;
}
