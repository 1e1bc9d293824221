/*
 * profile-math.c - the profile's own log and 1 - exp(-x) (profile.c, which
 * spares libhmm the math library) agree with libm's over the ranges the
 * profile uses: log of u in [2^-53, 1], 1 - exp(-x) for sizes from 1 byte
 * to far above the sampling rate.
 */
#include <math.h>
#include <stdio.h>

#include "tap.h"

/* src/profile.h; internal. */
double hmm_log(double x);
double hmm_one_minus_exp_neg(double x);

/* Relative error of got against want, which is not 0. */
static double rel(double got, double want) { return fabs(got - want) / fabs(want); }

int main(void)
{
    plan(4);
    double worst = 0;
    for (double u = 0x1p-53; u < 1; u *= 1.0009765625) {
        double e = rel(hmm_log(u), log(u));
        worst = e > worst ? e : worst;
    }
    ok(worst < 1e-14, "log(u) for u from 2^-53 to 1 within 1e-14 (worst %.2g)", worst);
    ok(hmm_log(1) == 0, "log(1) is 0");
    worst = 0;
    for (double x = 1e-9; x < 60; x *= 1.001) {
        double e = rel(hmm_one_minus_exp_neg(x), -expm1(-x));
        worst = e > worst ? e : worst;
    }
    ok(worst < 1e-13, "1 - exp(-x) for x from 1e-9 to 60 within 1e-13 (worst %.2g)", worst);
    ok(hmm_one_minus_exp_neg(0) == 0, "1 - exp(-0) is 0");
    return tap_done();
}
