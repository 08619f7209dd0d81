/* Day types for load profiles: households use power differently on workdays, Saturdays
 * and Sundays or public holidays (the BDEW standard profiles make the same split). */
#ifndef BALKON_DAYTYPE_H
#define BALKON_DAYTYPE_H

#include <stdbool.h>
#include <stdint.h>

enum balkon_day_type {
    BALKON_DAY_WORKDAY = 0,
    BALKON_DAY_SATURDAY = 1,
    BALKON_DAY_SUNDAY = 2, /* Sundays and public holidays */
};

#define BALKON_DAY_TYPE_COUNT 3

/* Whether the date is a public holiday everywhere in Germany: New Year, Good Friday,
 * Easter Monday, 1 May, Ascension, Whit Monday, 3 October, 25 and 26 December. Regional
 * holidays differ by state and are not included. month 1-12. */
bool balkon_is_public_holiday_de(int year, int month, int day);

/* The day type of the local day (process time zone) holding ts_ms. */
enum balkon_day_type balkon_day_type_of(int64_t ts_ms);

/* "workday", "saturday", "sunday". */
const char *balkon_day_type_name(enum balkon_day_type type);

#endif
