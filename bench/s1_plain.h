/*
 * S1 on a plain tape, written once for both: included by s1_shopping.c
 * with PT(f) naming the tape's functions (il_f of inltape.h, or bt_f of
 * baretape.h) and PW(name) the function defined here.
 */

/* Reset, build, backward, read the five gradients; returns their sum. */
static inline double PW(shopping)(il_tape *t)
{
    size_t mark = PT(mark)(t);
    il_id apple = PT(leaf)(t, 100.0), apple_num = PT(leaf)(t, 2.0);
    il_id orange = PT(leaf)(t, 150.0), orange_num = PT(leaf)(t, 3.0);
    il_id tax = PT(leaf)(t, 1.1);
    il_id all = PT(add)(t, PT(mul)(t, apple, apple_num), PT(mul)(t, orange, orange_num));
    PT(backward)(t, PT(mul)(t, all, tax));
    double sum = PT(grad)(t, apple) + PT(grad)(t, apple_num) + PT(grad)(t, orange) +
                 PT(grad)(t, orange_num) + PT(grad)(t, tax);
    PT(rewind)(t, mark);
    return sum;
}
