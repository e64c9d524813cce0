/* Built in place of the accuracy suite when MPFR is not installed. */
#include <stdio.h>

int main(void)
{
    puts("accuracy-mpfr: MPFR not found when configured (install libmpfr-dev): skipped");
    return 77;
}
