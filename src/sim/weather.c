/* Weather: cloud cover, the sun passing behind clouds, and the air temperature.
 *
 * Cloud cover c in [0, 1] is Phi(a + b z), where z is a standard-normal mix of two
 * Ornstein-Uhlenbeck processes: a slow one (weather systems, tau 6 h) and a fast one
 * (showers and cloud fields, tau 20 min), each stepped with its exact discretisation so the
 * statistics do not depend on the step. For z ~ N(0, 1), E[Phi(a + b z)] = Phi(a / sqrt(1 + b^2)),
 * so choosing a = Phi^-1(cloudiness) sqrt(1 + b^2) makes the long-run mean cover equal the
 * wanted mean exactly. b = 1.6 spreads days between clear and overcast. The wanted mean
 * swings with the seasons around the configured cloudiness m, by +-0.3 min(m, 1 - m) at
 * mid-latitudes (cloudier winters: in Germany ~0.8 in December, ~0.6 in June); the swing is
 * a cosine over the year, so the long-run mean stays m.
 *
 * Kasten & Czeplak (1980) give the mean effect of a cover c (in eighths, N/8 = c):
 * G = G_clear (1 - 0.75 c^3.4) and diffuse fraction D/G = k0 + (1 - k0) c^2, where we take
 * k0 from our clear sky instead of their 0.3 so that c = 0 is exactly the clear sky. The beam
 * does not dim smoothly under cumulus: the sun is either visible (full clear-sky beam) or
 * behind a cloud (no beam). A two-state Markov process leaving "behind" at rate (1 - p) / 5 min
 * and "in front" at rate p / 5 min spends a fraction p of the time occluded; with
 * p = 1 - (1 - 0.75 c^3.4)(1 - c^2) the average beam is exactly Kasten-Czeplak's, while PV
 * output jumps as passing clouds do to real plants. The mean diffuse is split between the two
 * states so that with the sun out global stays within 1.05x the clear sky (brief cloud
 * enhancement) and the bright-cloud rest shows while the sun is covered.
 *
 * Air temperature: annual mean 28 - 0.35 |lat| degC, seasonal amplitude 0.18 |lat| K peaking
 * around 19 July (19 January south of the equator), a diurnal swing peaking at 15:00 solar
 * time whose amplitude clouds halve, plus a slow random anomaly (tau 2 days, sd 2.5 K).
 * Rough, but right to a few kelvin for central Europe, which is all the PV model needs. */
#include <math.h>

#include "sim_internal.h"

#define COVER_SPREAD 1.6
#define SLOW_TAU_S (6.0 * 3600.0)
#define FAST_TAU_S (20.0 * 60.0)
#define SLOW_WEIGHT 0.6
#define OCCLUSION_DWELL_S 300.0
#define TEMP_TAU_S (2.0 * 86400.0)
#define TEMP_SD_K 2.5
#define WEATHER_STREAM 1
#define SEASONAL_SWING 0.3

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static double normal_quantile(double p)
{
    /* Bisection is plenty: it runs only when the cloudiness is (re)configured. */
    double lo = -12.0, hi = 12.0;
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (normal_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static double occlusion_probability(double cover)
{
    double p = 1.0 - (1.0 - 0.75 * pow(cover, 3.4)) * (1.0 - cover * cover);
    /* Keep both dwell times finite. */
    if (p < 1e-4)
        p = 1e-4;
    if (p > 1.0 - 1e-4)
        p = 1.0 - 1e-4;
    return p;
}

/* Rate (1/s) at which the sun leaves its current state, for the current cover. */
static double switch_rate_per_s(const struct sim_weather *weather, double cover)
{
    double p = occlusion_probability(cover);
    return (weather->sun_occluded ? 1.0 - p : p) / OCCLUSION_DWELL_S;
}

/* Mean cover wanted on a day: the configured cloudiness with its seasonal swing. */
static double seasonal_mean(double cloudiness, int64_t ts_ms, double latitude_deg)
{
    double day = (double)ts_ms / 86400000.0;
    double winterness = -cos(2.0 * SIM_PI * (fmod(day, 365.2425) - 199.0) / 365.2425);
    if (latitude_deg < 0.0)
        winterness = -winterness;
    double lat_factor = fabs(latitude_deg) / 45.0 < 1.0 ? fabs(latitude_deg) / 45.0 : 1.0;
    double room = cloudiness < 1.0 - cloudiness ? cloudiness : 1.0 - cloudiness;
    return cloudiness + SEASONAL_SWING * room * lat_factor * winterness;
}

static void set_mean(struct sim_weather *weather, double mean)
{
    weather->mean_cover = mean;
    if (mean > 0.0 && mean < 1.0)
        weather->cover_offset = normal_quantile(mean) * sqrt(1.0 + COVER_SPREAD * COVER_SPREAD);
}

void sim_weather_set_cloudiness(struct sim_weather *weather, double cloudiness, int64_t ts_ms,
                                double latitude_deg)
{
    weather->cloudiness = cloudiness;
    set_mean(weather, seasonal_mean(cloudiness, ts_ms, latitude_deg));
}

double sim_weather_cover(const struct sim_weather *weather)
{
    if (weather->mean_cover <= 0.0)
        return 0.0;
    if (weather->mean_cover >= 1.0)
        return 1.0;
    double z = sqrt(SLOW_WEIGHT) * weather->z_slow + sqrt(1.0 - SLOW_WEIGHT) * weather->z_fast;
    return normal_cdf(weather->cover_offset + COVER_SPREAD * z);
}

void sim_weather_init(struct sim_weather *weather, uint64_t seed, double cloudiness, int64_t ts_ms,
                      double latitude_deg)
{
    sim_rng_seed(&weather->rng, seed, WEATHER_STREAM);
    sim_weather_set_cloudiness(weather, cloudiness, ts_ms, latitude_deg);
    /* Start in the stationary distribution, not at the mean, so that the first day is as
     * likely to be clear or grey as any other. */
    weather->z_slow = sim_rng_normal(&weather->rng);
    weather->z_fast = sim_rng_normal(&weather->rng);
    weather->temp_anomaly_k = TEMP_SD_K * sim_rng_normal(&weather->rng);
    double cover = sim_weather_cover(weather);
    weather->sun_occluded = sim_rng_uniform(&weather->rng) < occlusion_probability(cover);
    weather->switch_budget = sim_rng_exponential(&weather->rng);
}

static double ou_step(struct sim_rng *rng, double x, double dt_s, double tau_s, double sd)
{
    double decay = exp(-dt_s / tau_s);
    return x * decay + sd * sqrt(1.0 - decay * decay) * sim_rng_normal(rng);
}

void sim_weather_step(struct sim_weather *weather, int64_t ts_ms, double latitude_deg, double dt_s,
                      double *cover, double *occluded_fraction)
{
    /* The seasonal mean moves ~0.002 a day: re-solving for the offset when it has moved
     * that much keeps the (bisection) quantile off the hot path. */
    double mean = seasonal_mean(weather->cloudiness, ts_ms, latitude_deg);
    if (fabs(mean - weather->mean_cover) > 0.002 ||
        ((mean <= 0.0 || mean >= 1.0) && mean != weather->mean_cover))
        set_mean(weather, mean);
    double c = sim_weather_cover(weather);
    double occluded_s = 0.0;
    double left_s = dt_s;
    /* The switching rate follows the current cover (time rescaling: an Exp(1) budget eaten
     * at that rate), so a cloud front ends a long clear spell at once instead of waiting out
     * a dwell time drawn under a blue sky. */
    while (left_s > 0.0) {
        double rate_per_s = switch_rate_per_s(weather, c);
        double until_s = weather->switch_budget / rate_per_s;
        double seg_s = until_s < left_s ? until_s : left_s;
        if (weather->sun_occluded)
            occluded_s += seg_s;
        left_s -= seg_s;
        if (until_s <= seg_s) {
            weather->sun_occluded = !weather->sun_occluded;
            weather->switch_budget = sim_rng_exponential(&weather->rng);
        } else {
            weather->switch_budget -= rate_per_s * seg_s;
        }
    }
    weather->z_slow = ou_step(&weather->rng, weather->z_slow, dt_s, SLOW_TAU_S, 1.0);
    weather->z_fast = ou_step(&weather->rng, weather->z_fast, dt_s, FAST_TAU_S, 1.0);
    weather->temp_anomaly_k =
        ou_step(&weather->rng, weather->temp_anomaly_k, dt_s, TEMP_TAU_S, TEMP_SD_K);
    *cover = c;
    *occluded_fraction = dt_s > 0.0 ? occluded_s / dt_s : 0.0;
}

void sim_cloudy_sky(const struct sim_sky *clear, double elevation_deg, double cover,
                    double occluded_fraction, struct sim_sky *out)
{
    *out = *clear;
    if (clear->ghi_w_per_m2 <= 0.0 || elevation_deg <= 0.0)
        return;
    double k0 = clear->dhi_w_per_m2 / clear->ghi_w_per_m2;
    double global = clear->ghi_w_per_m2 * (1.0 - 0.75 * pow(cover, 3.4));
    double diffuse_mean = global * (k0 + (1.0 - k0) * cover * cover);
    /* Split the mean diffuse between the sun's two states, keeping its time average:
     * with the sun out, global may exceed the clear sky by at most 5 % (cloud enhancement
     * is real but brief), and the rest of the bright-cloud light shows while a cloud is in
     * front of the sun. */
    double beam_h = clear->dni_w_per_m2 * sin(elevation_deg * SIM_DEG);
    double diffuse_visible = fmin(diffuse_mean, 1.05 * clear->ghi_w_per_m2 - beam_h);
    double diffuse_occluded = diffuse_mean;
    if (diffuse_visible < diffuse_mean) {
        double p = occlusion_probability(cover);
        diffuse_occluded = (diffuse_mean - (1.0 - p) * diffuse_visible) / p;
    }
    out->dhi_w_per_m2 =
        (1.0 - occluded_fraction) * diffuse_visible + occluded_fraction * diffuse_occluded;
    out->dni_w_per_m2 = clear->dni_w_per_m2 * (1.0 - occluded_fraction);
    out->ghi_w_per_m2 = out->dni_w_per_m2 * sin(elevation_deg * SIM_DEG) + out->dhi_w_per_m2;
}

double sim_air_temp_c(const struct sim_weather *weather, int64_t ts_ms, double latitude_deg,
                      double longitude_deg, double cover)
{
    double abs_lat = fabs(latitude_deg);
    double day = (double)ts_ms / 86400000.0; /* days since 1970, fractional */
    double year_phase = 2.0 * SIM_PI * (fmod(day, 365.2425) - 199.0) / 365.2425;
    double hemisphere = latitude_deg >= 0.0 ? 1.0 : -1.0;
    double seasonal = hemisphere * cos(year_phase); /* +1 midsummer, -1 midwinter */
    double mean_c = 28.0 - 0.35 * abs_lat + 0.18 * abs_lat * seasonal;

    double solar_hour = fmod((day - floor(day)) * 24.0 + longitude_deg / 15.0 + 48.0, 24.0);
    double diurnal_k = (3.0 + 1.5 * seasonal) * (1.0 - 0.5 * cover);
    double diurnal = diurnal_k * cos(2.0 * SIM_PI * (solar_hour - 15.0) / 24.0);
    return mean_c + diurnal + weather->temp_anomaly_k;
}
