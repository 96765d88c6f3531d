/* Civil dates as int32 days since 1970-01-01 (proleptic Gregorian), the
 * engine's one date representation. TSR_DATE_MISSING marks no date. */
#ifndef TSR_DATE_H
#define TSR_DATE_H

#include <stdint.h>

#define TSR_DATE_MISSING INT32_MIN

int32_t tsr__days_from_ymd(int y, int m, int d);
void tsr__ymd_from_days(int32_t days, int *y, int *m, int *d);
int tsr__days_in_month(int y, int m);
/* 1 if y-m-d is a real calendar date. */
int tsr__ymd_valid(int y, int m, int d);

#endif
