/* The standard household profile: a shape like BDEW's H0 ("Haushalt") for three day types.
 *
 * Values are mean W per quarter-hour for a household using 1000 kWh a year; index q covers
 * local time [q * 15 min, (q + 1) * 15 min). The three day types are weighted 5:1:1 over a
 * week to a mean of 1e6 / 8760 = 114.16 W. H0's own table has three seasons per day type;
 * this one is one all-year shape per day type, and the season enters through H0's
 * day-of-year factor F(t), which BDEW applies to its table the same way.
 *
 * AN APPROXIMATION, NOT THE PUBLISHED TABLE: built for this project from hourly anchor
 * values of the familiar H0 curves (night minimum around 04:00, morning rise, a midday
 * cooking peak, the evening peak around 19-20 h; Saturday and Sunday start later and peak
 * at noon), interpolated to quarter-hours with a periodic Catmull-Rom spline and scaled.
 * It only has to be a sensible prior until the household's own history takes over. */
#include <math.h>

#include "balkon/optimizer.h"

static const double h0_w_per_mwh[BALKON_DAY_TYPES][BALKON_LOAD_SLOTS_PER_DAY] = {
    /* workday: mean 111.8 W */
    {
        82.1,  74.1,  68.1,  64.3,  61.7,  59.7,  57.6,  55.8,  54.4,  53.2,  52.0,  51.1,
        50.4,  49.8,  49.3,  48.8,  48.5,  48.4,  48.7,  49.1,  49.8,  51.4,  54.1,  57.8,
        62.5,  67.8,  74.1,  81.9,  90.3,  98.0,  103.9, 108.7, 112.5, 115.3, 116.9, 116.8,
        115.7, 114.6, 114.1, 113.5, 113.1, 113.0, 113.6, 114.5, 115.9, 118.0, 121.1, 125.9,
        131.2, 135.4, 137.0, 136.6, 134.9, 132.6, 130.2, 126.8, 123.0, 119.6, 117.2, 115.3,
        114.0, 113.3, 113.4, 114.0, 115.4, 117.7, 121.3, 126.4, 132.3, 138.5, 144.7, 151.3,
        158.0, 164.2, 169.3, 174.0, 177.9, 180.9, 182.8, 183.6, 183.4, 182.6, 181.4, 179.6,
        177.3, 174.0, 169.6, 164.2, 157.9, 150.6, 142.3, 132.4, 121.7, 111.1, 101.4, 91.5,
    },
    /* saturday: mean 120.3 W */
    {
        94.0,  86.2,  80.1,  75.6,  72.2,  69.2,  66.3,  63.7,  61.5,  59.6,  57.8,  56.3,
        55.1,  54.1,  53.2,  52.5,  52.0,  51.7,  51.5,  51.6,  51.8,  52.2,  53.0,  53.7,
        54.8,  56.5,  59.0,  62.1,  65.9,  70.3,  75.6,  81.8,  88.7,  95.7,  102.5, 109.6,
        116.6, 123.3, 129.3, 135.0, 140.1, 144.6, 148.4, 151.3, 153.6, 155.7, 157.9, 160.4,
        162.6, 163.8, 163.4, 161.5, 158.6, 155.3, 152.1, 148.3, 144.5, 141.0, 138.3, 136.2,
        134.7, 133.7, 133.4, 133.8, 134.8, 136.5, 138.8, 141.8, 145.5, 149.6, 154.0, 159.2,
        164.7, 169.7, 173.9, 177.7, 180.9, 183.3, 184.5, 184.6, 183.9, 182.7, 181.4, 180.1,
        178.3, 175.7, 171.9, 167.2, 161.6, 155.2, 147.9, 139.3, 130.0, 120.7, 111.9, 102.8,
    },
    /* sunday: mean 119.7 W */
    {
        96.4,  91.4,  86.6,  82.3,  78.2,  74.6,  71.1,  68.0,  65.3,  62.8,  60.7,  58.9,
        57.5,  56.2,  55.1,  54.2,  53.4,  52.8,  52.4,  52.0,  51.7,  51.6,  51.6,  51.5,
        51.6,  52.1,  53.2,  54.6,  56.4,  59.0,  62.5,  66.8,  71.9,  77.7,  84.4,  92.1,
        100.5, 109.1, 117.4, 125.8, 134.3, 142.6, 150.7, 158.9, 166.8, 173.9, 179.9, 185.6,
        190.1, 192.3, 190.9, 185.6, 178.1, 170.3, 163.6, 156.6, 149.8, 143.9, 139.7, 136.8,
        135.0, 133.9, 133.3, 133.4, 134.2, 135.6, 137.7, 140.5, 144.0, 147.8, 151.7, 156.1,
        160.8, 165.0, 168.6, 171.8, 174.5, 176.4, 177.3, 177.1, 176.1, 174.7, 173.2, 171.5,
        169.4, 166.6, 162.8, 158.3, 152.9, 146.9, 140.0, 131.8, 123.1, 114.9, 107.9, 101.9,
    },
};

double balkon_load_h0_factor(int day_of_year)
{
    if (day_of_year < 1 || day_of_year > 366)
        return 1.0;
    double t = day_of_year;
    return -3.92e-10 * pow(t, 4) + 3.2e-7 * pow(t, 3) - 7.02e-5 * t * t + 2.1e-3 * t + 1.24;
}

double balkon_load_standard_w(double annual_kwh, enum balkon_day_type day_type, int minute_of_day,
                              int day_of_year)
{
    if ((unsigned)day_type >= BALKON_DAY_TYPES || minute_of_day < 0 || minute_of_day >= 1440)
        return 0.0;
    return h0_w_per_mwh[day_type][minute_of_day / 15] * annual_kwh / 1000.0 *
           balkon_load_h0_factor(day_of_year);
}
