/*
 * S3's training step on a plain tape, written once for both: included
 * through plaintapes.h by s3_mlp.c, with PT(f) naming the tape's functions
 * and PW(name) the functions defined here.  Node for node what s3_mlp.c
 * records on tapegrad.
 */

static il_id PW(neuron)(il_tape *t, const il_id *w, il_id b, const il_id *in, int nin,
                        int nonlin)
{
    il_id s = b;
    for (int i = 0; i < nin; i++) s = PT(add)(t, s, PT(mul)(t, w[i], in[i]));
    return nonlin ? PT(tanh)(t, s) : s;
}

static il_id PW(mlp_score)(il_tape *t, const il_id *p, const double *x)
{
    il_id in[N_IN], h1[N_H1], h2[N_H2];
    for (int i = 0; i < N_IN; i++) in[i] = PT(leaf)(t, x[i]);
    for (int j = 0; j < N_H1; j++)
        h1[j] = PW(neuron)(t, p + P_W1 + j * N_IN, p[P_B1 + j], in, N_IN, 1);
    for (int j = 0; j < N_H2; j++)
        h2[j] = PW(neuron)(t, p + P_W2 + j * N_H1, p[P_B2 + j], h1, N_H1, 1);
    return PW(neuron)(t, p + P_W3, p[P_B3], h2, N_H2, 0);
}

static il_id PW(svm_loss)(plain_mlp *m, const double *x, const double *y)
{
    il_tape *t = &m->t;
    il_id data = 0;
    for (int i = 0; i < N_POINTS; i++) {
        il_id score = PW(mlp_score)(t, m->p, x + i * N_IN);
        il_id l = PT(relu)(t, PT(add)(t, m->one, PT(mul)(t, score, PT(leaf)(t, -y[i]))));
        data = i ? PT(add)(t, data, l) : l;
    }
    data = PT(mul)(t, data, m->inv_points);
    il_id reg = 0;
    for (int k = 0; k < N_PARAMS; k++) {
        il_id sq = PT(mul)(t, m->p[k], m->p[k]);
        reg = k ? PT(add)(t, reg, sq) : sq;
    }
    return PT(add)(t, data, PT(mul)(t, reg, m->alpha));
}

/* The parameters and constants, then the mark every step rewinds to. */
static void PW(mlp_init)(plain_mlp *m, const double *init)
{
    PT(init)(&m->t);
    for (int k = 0; k < N_PARAMS; k++) m->p[k] = PT(leaf)(&m->t, init[k]);
    m->one = PT(leaf)(&m->t, 1.0);
    m->inv_points = PT(leaf)(&m->t, 1.0 / N_POINTS);
    m->alpha = PT(leaf)(&m->t, alpha);
    m->mark = PT(mark)(&m->t);
}

/* Record, backward, SGD on every parameter, rewind. */
static void PW(mlp_step)(plain_mlp *m, const double *x, const double *y, double lr)
{
    il_tape *t = &m->t;
    il_id loss = PW(svm_loss)(m, x, y);
    PT(backward)(t, loss);
    m->last_loss = PT(val)(t, loss);
    for (int q = 0; q < N_PARAMS; q++)
        PT(set)(t, m->p[q], PT(val)(t, m->p[q]) - lr * PT(grad)(t, m->p[q]));
    PT(rewind)(t, m->mark);
}
