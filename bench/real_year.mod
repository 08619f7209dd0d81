/* The whole-range perfect-foresight LP of bench/real_years.sh: one battery over a whole year
 * with every price, PV and load known in advance, the slot physics of docs/optimizer.md
 * (AC coupling, no grid charging, no battery export):
 *   pv_used <= min(pv, cap); discharge <= cap - min(pv, cap) and <= load - min(pv, cap) (no
 *   export, when positive); charge <= min(pv, cap) - load (surplus only, when positive);
 *   import - export = load - pv_used - discharge + charge; SoC' = SoC + dt (eta_c charge -
 *   discharge / eta_d) within [0, capacity]; cost = dt (import x price - export x feed_in)
 *   + wear x dt (eta_c charge + discharge / eta_d), per kWh, with W and Wh throughout.
 * The battery starts empty and what is left at the end is worth nothing. Its data are hourly
 * means, which hold in all four quarter-hours of the hour: by convexity the hourly LP has the
 * optimum of the quarter-hourly one. */
param T integer > 0;
param dt > 0;            /* h */
param cap >= 0;          /* W, the connection's cap */
param capacity >= 0;     /* Wh */
param max_c >= 0;        /* W */
param max_d >= 0;        /* W */
param eta_c > 0;
param eta_d > 0;
param wear >= 0;         /* per kWh into or out of the cells */
param feed_in;           /* per kWh */
param pv{1..T} >= 0;     /* W */
param load{1..T} >= 0;   /* W */
param price{1..T};       /* per kWh */
param pvc{t in 1..T} := min(pv[t], cap);

var pv_used{t in 1..T} >= 0, <= pvc[t];
var c{t in 1..T} >= 0, <= min(max_c, max(0, pvc[t] - load[t]));
var d{t in 1..T} >= 0, <= min(max_d, cap - pvc[t], max(0, load[t] - pvc[t]));
var imp{1..T} >= 0;
var exp{1..T} >= 0;
var soc{0..T} >= 0, <= capacity;

minimize cost: sum{t in 1..T} (dt / 1000 * (price[t] * imp[t] - feed_in * exp[t])
                + wear * dt / 1000 * (eta_c * c[t] + d[t] / eta_d));
s.t. start: soc[0] = 0;
s.t. balance{t in 1..T}: imp[t] - exp[t] = load[t] - pv_used[t] - d[t] + c[t];
s.t. energy{t in 1..T}: soc[t] = soc[t - 1] + dt * (eta_c * c[t] - d[t] / eta_d);
solve;
printf "LP_COST %.6f\n", cost;
end;
