/* The sun: where it stands, how much light a cloudless sky gives, and how much of it falls
 * on a tilted module.
 *
 * Position: the NOAA solar calculator's equations (after Meeus, "Astronomical Algorithms"):
 * from the Julian century, the sun's mean longitude and anomaly give the apparent longitude,
 * the obliquity of the ecliptic gives declination and the equation of time; the hour angle
 * follows from UTC, the equation of time and the longitude. Accurate to about 0.01 degrees
 * between 1800 and 2100. The elevation is geometric (no atmospheric refraction), so sunrise
 * is where it crosses -0.833 degrees, as in almanacs.
 *
 * Clear sky: Meinel's beam model DNI = 1353 W/m2 * 0.7^(AM^0.678) / r^2, with the air mass AM
 * of Kasten & Young (1989), and the ASHRAE clear-sky diffuse factor
 * C = 0.095 + 0.04 sin(2 pi (n - 100) / 365) for the horizontal diffuse DHI = C * DNI.
 * Gives ~890 W/m2 global on a June noon in Berlin, in line with measured clear days.
 *
 * Plane of array: beam times the cosine of incidence, isotropic sky diffuse (Liu & Jordan)
 * and ground reflection with albedo 0.2. */
#include <math.h>
#include <time.h>

#include "sim_internal.h"

#define ALBEDO 0.2

static double wrap_deg(double deg)
{
    deg = fmod(deg, 360.0);
    return deg < 0.0 ? deg + 360.0 : deg;
}

void sim_sun_state(int64_t ts_ms, double latitude_deg, double longitude_deg, double *elevation_deg,
                   double *azimuth_deg, double *distance_au)
{
    double julian_day = (double)ts_ms / 86400000.0 + 2440587.5;
    double t = (julian_day - 2451545.0) / 36525.0; /* Julian centuries since J2000.0 */

    double mean_long = wrap_deg(280.46646 + t * (36000.76983 + t * 0.0003032));
    double mean_anom = 357.52911 + t * (35999.05029 - 0.0001537 * t);
    double ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
    double m = mean_anom * SIM_DEG;
    double center = sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) +
                    sin(2.0 * m) * (0.019993 - 0.000101 * t) + sin(3.0 * m) * 0.000289;
    double true_long = mean_long + center;
    double true_anom = (mean_anom + center) * SIM_DEG;
    double omega = (125.04 - 1934.136 * t) * SIM_DEG;
    double app_long = (true_long - 0.00569 - 0.00478 * sin(omega)) * SIM_DEG;
    double obliq0 =
        23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0;
    double obliq = (obliq0 + 0.00256 * cos(omega)) * SIM_DEG;
    double decl = asin(sin(obliq) * sin(app_long));

    double y = tan(obliq / 2.0) * tan(obliq / 2.0);
    double l0 = mean_long * SIM_DEG;
    double eot_min =
        4.0 / SIM_DEG *
        (y * sin(2.0 * l0) - 2.0 * ecc * sin(m) + 4.0 * ecc * y * sin(m) * cos(2.0 * l0) -
         0.5 * y * y * sin(4.0 * l0) - 1.25 * ecc * ecc * sin(2.0 * m));

    /* Minutes since UTC midnight; floor keeps times before 1970 on the right day. */
    double day_ms = (double)ts_ms - 86400000.0 * floor((double)ts_ms / 86400000.0);
    double solar_min = day_ms / 60000.0 + eot_min + 4.0 * longitude_deg;
    double hour_angle = (solar_min / 4.0 - 180.0) * SIM_DEG;

    double lat = latitude_deg * SIM_DEG;
    double sin_elev = sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(hour_angle);
    if (sin_elev > 1.0)
        sin_elev = 1.0;
    if (sin_elev < -1.0)
        sin_elev = -1.0;
    *elevation_deg = asin(sin_elev) / SIM_DEG;
    /* Azimuth measured from south, positive towards west: our convention directly. */
    *azimuth_deg =
        atan2(sin(hour_angle), cos(hour_angle) * sin(lat) - tan(decl) * cos(lat)) / SIM_DEG;
    if (distance_au)
        *distance_au = 1.000001018 * (1.0 - ecc * ecc) / (1.0 + ecc * cos(true_anom));
}

void sim_sun_position(int64_t ts_ms, double latitude_deg, double longitude_deg,
                      double *elevation_deg, double *azimuth_deg)
{
    sim_sun_state(ts_ms, latitude_deg, longitude_deg, elevation_deg, azimuth_deg, NULL);
}

static int utc_day_of_year(int64_t ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return 1;
    return tm.tm_yday + 1;
}

void sim_clear_sky(int64_t ts_ms, double elevation_deg, double distance_au, struct sim_sky *out)
{
    out->dni_w_per_m2 = out->dhi_w_per_m2 = out->ghi_w_per_m2 = 0.0;
    if (elevation_deg <= 0.0)
        return;
    double air_mass =
        1.0 / (sin(elevation_deg * SIM_DEG) + 0.50572 * pow(elevation_deg + 6.07995, -1.6364));
    double dni = 1353.0 * pow(0.7, pow(air_mass, 0.678)) / (distance_au * distance_au);
    int day = utc_day_of_year(ts_ms);
    double diffuse_factor = 0.095 + 0.04 * sin(2.0 * SIM_PI * (day - 100) / 365.0);
    out->dni_w_per_m2 = dni;
    out->dhi_w_per_m2 = diffuse_factor * dni;
    out->ghi_w_per_m2 = dni * sin(elevation_deg * SIM_DEG) + out->dhi_w_per_m2;
}

double sim_plane_irradiance(const struct sim_plane *plane, double elevation_deg, double azimuth_deg,
                            const struct sim_sky *sky)
{
    if (elevation_deg <= 0.0 || sky->ghi_w_per_m2 <= 0.0)
        return 0.0;
    double tilt = plane->tilt_deg * SIM_DEG;
    double elev = elevation_deg * SIM_DEG;
    double cos_incidence =
        sin(elev) * cos(tilt) +
        cos(elev) * sin(tilt) * cos((azimuth_deg - plane->azimuth_deg) * SIM_DEG);
    double beam = cos_incidence > 0.0 ? sky->dni_w_per_m2 * cos_incidence : 0.0;
    double sky_diffuse = sky->dhi_w_per_m2 * (1.0 + cos(tilt)) / 2.0;
    double ground = sky->ghi_w_per_m2 * ALBEDO * (1.0 - cos(tilt)) / 2.0;
    return beam + sky_diffuse + ground;
}
