/* Forecast errors per kind, hour and lead, and the scenarios made of them (see
 * include/balkon/forecast_error.h). */
#include "balkon/forecast_error.h"

#include <math.h>
#include <string.h>

#define E_MIN (-1.025) /* e = 0 sits in the middle of a bin */
#define E_BIN 0.05

void balkon_fcerr_init(struct balkon_forecast_errors *errors, double pv_floor_w,
                       double load_floor_w)
{
    memset(errors, 0, sizeof *errors);
    errors->floor_w[BALKON_FCERR_PV] = pv_floor_w > 1.0 ? pv_floor_w : 1.0;
    errors->floor_w[BALKON_FCERR_LOAD] = load_floor_w > 1.0 ? load_floor_w : 1.0;
}

int balkon_fcerr_lead_bucket(double lead_s)
{
    double lead_h = lead_s / 3600.0;
    return lead_h < 3.0 ? 0 : lead_h < 12.0 ? 1 : lead_h < 24.0 ? 2 : 3;
}

static double scale_w(const struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind,
                      double forecast_w)
{
    return fmax(forecast_w, errors->floor_w[kind]);
}

void balkon_fcerr_add(struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind, int hour,
                      double lead_s, double forecast_w, double actual_w, double weight)
{
    if ((unsigned)kind >= BALKON_FCERR_KINDS || hour < 0 || hour >= BALKON_FCERR_HOURS ||
        !isfinite(forecast_w) || !isfinite(actual_w) || !isfinite(lead_s) || forecast_w < 0.0 ||
        actual_w < 0.0 || !(weight > 0.0) || !isfinite(weight))
        return;
    double e = (actual_w - forecast_w) / scale_w(errors, kind, forecast_w);
    int bin = (int)floor((e - E_MIN) / E_BIN);
    bin = bin < 0 ? 0 : (bin >= BALKON_FCERR_BINS ? BALKON_FCERR_BINS - 1 : bin);
    struct balkon_fcerr_cell *cell = &errors->cells[kind][hour][balkon_fcerr_lead_bucket(lead_s)];
    cell->weight[bin] += (float)weight;
    cell->total += weight;
}

void balkon_fcerr_decay(struct balkon_forecast_errors *errors, double factor)
{
    if (!(factor > 0.0) || factor >= 1.0)
        return;
    for (int k = 0; k < BALKON_FCERR_KINDS; k++)
        for (int h = 0; h < BALKON_FCERR_HOURS; h++)
            for (int l = 0; l < BALKON_FCERR_LEADS; l++) {
                struct balkon_fcerr_cell *cell = &errors->cells[k][h][l];
                for (int b = 0; b < BALKON_FCERR_BINS; b++)
                    cell->weight[b] *= (float)factor;
                cell->total *= factor;
            }
}

double balkon_fcerr_weight(const struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind)
{
    double total = 0.0;
    for (int h = 0; h < BALKON_FCERR_HOURS; h++)
        for (int l = 0; l < BALKON_FCERR_LEADS; l++)
            total += errors->cells[kind][h][l].total;
    return total;
}

/* The q-quantile of a histogram of total weight total, linear within its bin. */
static double quantile_of(const float *weight, double total, double q)
{
    double want = q * total, seen = 0.0;
    for (int b = 0; b < BALKON_FCERR_BINS; b++) {
        if (weight[b] > 0.0f && seen + weight[b] >= want) {
            double within = (want - seen) / weight[b];
            return E_MIN + (b + within) * E_BIN;
        }
        seen += weight[b];
    }
    return E_MIN + BALKON_FCERR_BINS * E_BIN;
}

double balkon_fcerr_quantile(const struct balkon_forecast_errors *errors,
                             enum balkon_fcerr_kind kind, int hour, double lead_s, double q)
{
    if ((unsigned)kind >= BALKON_FCERR_KINDS || hour < 0 || hour >= BALKON_FCERR_HOURS)
        return 0.0;
    int lead = balkon_fcerr_lead_bucket(lead_s);
    const struct balkon_fcerr_cell *cell = &errors->cells[kind][hour][lead];
    if (cell->total >= BALKON_FCERR_MIN_WEIGHT)
        return quantile_of(cell->weight, cell->total, q);
    /* Too little for this hour: the lead's errors over the whole day. */
    float pooled[BALKON_FCERR_BINS] = {0};
    double total = 0.0;
    for (int h = 0; h < BALKON_FCERR_HOURS; h++) {
        const struct balkon_fcerr_cell *c = &errors->cells[kind][h][lead];
        for (int b = 0; b < BALKON_FCERR_BINS; b++)
            pooled[b] += c->weight[b];
        total += c->total;
    }
    return total >= BALKON_FCERR_MIN_WEIGHT ? quantile_of(pooled, total, q) : 0.0;
}

double balkon_fcerr_apply(const struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind,
                          double forecast_w, double e)
{
    return fmax(0.0, forecast_w + e * scale_w(errors, kind, forecast_w));
}

void balkon_fcerr_scenarios(const struct balkon_forecast_errors *errors, const double *pv_w,
                            const double *load_w, const int *minute_of_day, size_t count,
                            double lead0_s, int slot_s, double *storage,
                            struct balkon_opt_scenario scenarios[3])
{
    double *pv_hi = storage, *load_lo = storage + count, *pv_lo = storage + 2 * count,
           *load_hi = storage + 3 * count;
    /* The quantiles change only with the hour and the lead bucket: look each up once. */
    double q_pv[2] = {0}, q_load[2] = {0};
    int last_hour = -1, last_lead = -1;
    for (size_t t = 0; t < count; t++) {
        double lead_s = lead0_s + (double)t * slot_s;
        int hour = minute_of_day[t] / 60, lead = balkon_fcerr_lead_bucket(lead_s);
        if (hour != last_hour || lead != last_lead) {
            q_pv[0] = balkon_fcerr_quantile(errors, BALKON_FCERR_PV, hour, lead_s, 1.0 / 6.0);
            q_pv[1] = balkon_fcerr_quantile(errors, BALKON_FCERR_PV, hour, lead_s, 5.0 / 6.0);
            q_load[0] = balkon_fcerr_quantile(errors, BALKON_FCERR_LOAD, hour, lead_s, 1.0 / 6.0);
            q_load[1] = balkon_fcerr_quantile(errors, BALKON_FCERR_LOAD, hour, lead_s, 5.0 / 6.0);
            last_hour = hour;
            last_lead = lead;
        }
        pv_lo[t] = balkon_fcerr_apply(errors, BALKON_FCERR_PV, pv_w[t], q_pv[0]);
        pv_hi[t] = balkon_fcerr_apply(errors, BALKON_FCERR_PV, pv_w[t], q_pv[1]);
        load_lo[t] = balkon_fcerr_apply(errors, BALKON_FCERR_LOAD, load_w[t], q_load[0]);
        load_hi[t] = balkon_fcerr_apply(errors, BALKON_FCERR_LOAD, load_w[t], q_load[1]);
    }
    scenarios[0] = (struct balkon_opt_scenario){1.0 / 3.0, pv_w, load_w};
    scenarios[1] = (struct balkon_opt_scenario){1.0 / 3.0, pv_hi, load_lo};
    scenarios[2] = (struct balkon_opt_scenario){1.0 - 2.0 / 3.0, pv_lo, load_hi};
}

bool balkon_fcerr_attach(const struct balkon_forecast_errors *errors, double after_h,
                         double lead0_s, struct balkon_fcerr_scenario_set *set,
                         struct balkon_opt_problem *problem)
{
    size_t n = problem->slot_count;
    size_t split = (size_t)ceil(after_h * 3600.0 / problem->slot_s);
    if (after_h <= 0.0 || split >= n || n > BALKON_OPT_MAX_SLOTS ||
        problem->battery.capacity_wh <= 0.0 ||
        balkon_fcerr_weight(errors, BALKON_FCERR_PV) +
                balkon_fcerr_weight(errors, BALKON_FCERR_LOAD) <=
            0.0)
        return false;
    for (size_t t = 0; t < n; t++) {
        set->pv_w[t] = problem->slots[t].pv_w;
        set->load_w[t] = problem->slots[t].load_w;
        set->minute_of_day[t] = problem->slots[t].minute_of_day;
    }
    balkon_fcerr_scenarios(errors, set->pv_w, set->load_w, set->minute_of_day, n, lead0_s,
                           problem->slot_s, set->storage, set->scenarios);
    problem->scenarios = set->scenarios;
    problem->scenario_count = 3;
    problem->scenario_from_slot = split;
    return true;
}
