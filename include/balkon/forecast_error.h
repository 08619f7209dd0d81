/* How wrong a site's PV and load forecasts have been, learnt from its own history, and the
 * scenarios the optimal strategy plans against (docs/optimizer.md, "Plans that know
 * forecasts are wrong").
 *
 * An error is kept relative to the forecast: e = (actual - forecast) / max(forecast,
 * floor), so that a 30 % miss on a sunny noon and on a grey one count alike, while the
 * floor keeps the tiny forecasts of dawn and night from turning into huge ratios. Errors are
 * binned per kind, local hour of day and lead (how long before the slot the forecast was
 * made), weighted, and forgotten with age by balkon_fcerr_decay. Pure: no I/O, no clock. */
#ifndef BALKON_FORECAST_ERROR_H
#define BALKON_FORECAST_ERROR_H

#include "balkon/optimizer.h"

#include <stdbool.h>
#include <stddef.h>

enum balkon_fcerr_kind {
    BALKON_FCERR_PV = 0,
    BALKON_FCERR_LOAD,
};
#define BALKON_FCERR_KINDS 2
#define BALKON_FCERR_HOURS 24
/* Leads: [0, 3 h), [3, 12 h), [12, 24 h), 24 h and more. */
#define BALKON_FCERR_LEADS 4
/* e in [-1.025, 3.975) by 0.05; larger errors count in the last bin. */
#define BALKON_FCERR_BINS 100
/* A cell with less weight than this borrows its lead's errors over the whole day. */
#define BALKON_FCERR_MIN_WEIGHT 12.0

struct balkon_fcerr_cell {
    float weight[BALKON_FCERR_BINS];
    double total;
};

struct balkon_forecast_errors {
    double floor_w[BALKON_FCERR_KINDS]; /* the error's scale at least this (W) */
    struct balkon_fcerr_cell cells[BALKON_FCERR_KINDS][BALKON_FCERR_HOURS][BALKON_FCERR_LEADS];
};

/* No errors yet; pv_floor_w and load_floor_w as above (a tenth of the plant's peak and
 * 50 W work well). */
void balkon_fcerr_init(struct balkon_forecast_errors *errors, double pv_floor_w,
                       double load_floor_w);

/* The lead bucket of a forecast made lead_s before its slot began. */
int balkon_fcerr_lead_bucket(double lead_s);

/* Counts one slot: the forecast made lead_s ahead and what happened, with weight > 0.
 * hour: local hour of day of the slot, 0..23. Values that are not finite or negative are
 * ignored. */
void balkon_fcerr_add(struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind, int hour,
                      double lead_s, double forecast_w, double actual_w, double weight);

/* Multiplies every weight by factor in (0, 1]: older errors count less. */
void balkon_fcerr_decay(struct balkon_forecast_errors *errors, double factor);

/* Total weight learnt for kind (over all hours and leads). */
double balkon_fcerr_weight(const struct balkon_forecast_errors *errors,
                           enum balkon_fcerr_kind kind);

/* The q-quantile (0 < q < 1) of e for kind at that hour and lead; 0 (the forecast is
 * right) when nothing has been learnt for the lead yet. */
double balkon_fcerr_quantile(const struct balkon_forecast_errors *errors,
                             enum balkon_fcerr_kind kind, int hour, double lead_s, double q);

/* The value a forecast of forecast_w takes at error e (at least 0). */
double balkon_fcerr_apply(const struct balkon_forecast_errors *errors, enum balkon_fcerr_kind kind,
                          double forecast_w, double e);

/* Three scenarios for a horizon of count slots that starts lead0_s after the forecast was
 * made, each slot slot_s long, at local minute minute_of_day[t]: the forecast itself
 * (probability 1/3; the plan's path follows it), and more and less surplus than forecast
 * (PV at its 5/6 and load at its 1/6 quantile, and the reverse; 1/3 each: the three-point
 * rule for a distribution's terciles). pv_w and load_w are the forecast; the scenarios'
 * series go into storage (4 x count doubles) and scenarios[0..3) points into it. */
void balkon_fcerr_scenarios(const struct balkon_forecast_errors *errors, const double *pv_w,
                            const double *load_w, const int *minute_of_day, size_t count,
                            double lead0_s, int slot_s, double *storage,
                            struct balkon_opt_scenario scenarios[3]);

/* The series a problem's scenarios point into: kept by the caller for as long as the
 * problem is solved. */
struct balkon_fcerr_scenario_set {
    double pv_w[BALKON_OPT_MAX_SLOTS], load_w[BALKON_OPT_MAX_SLOTS];
    int minute_of_day[BALKON_OPT_MAX_SLOTS];
    double storage[4 * BALKON_OPT_MAX_SLOTS];
    struct balkon_opt_scenario scenarios[3];
};

/* Gives problem the three scenarios of its own slots' PV and load (balkon_fcerr_scenarios)
 * from after_h hours on, when after_h > 0, the horizon reaches past that, there is a
 * battery and something has been learnt; lead0_s as there. Returns whether it did. The
 * planner and the replay both plan this way. */
bool balkon_fcerr_attach(const struct balkon_forecast_errors *errors, double after_h,
                         double lead0_s, struct balkon_fcerr_scenario_set *set,
                         struct balkon_opt_problem *problem);

#endif
