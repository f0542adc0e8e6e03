/* The NAS cell's elementwise step (Zoph & Le 2017, TensorFlow's NASCell), forward and
 * backward, for one scalar type (included twice by cells.c, see lstm.h for the conventions:
 * K trials of B rows, row b of trial k of a buffer at  base + k * ks + b * rs, blocks of N
 * units).
 *
 * A row of a = W x holds the input projections A_0..A_7, rh = U m' the recurrent ones; the
 * kernel adds the bias (b_0..b_7 [K, 8N], zeros without use_bias) to rh's blocks:
 *   B_k  = rh_k + b_k
 *   l1_0 = σ(A0 + B0)   l1_1 = relu(A1 + B1)  l1_2 = σ(A2 + B2)    l1_3 = relu(A3 ⊙ B3)
 *   l1_4 = tanh(A4 + B4) l1_5 = σ(A5 + B5)    l1_6 = tanh(A6 + B6) l1_7 = σ(A7 + B7)
 *   l2_0 = tanh(l1_0 l1_1)  l2_1 = tanh(l1_2 + l1_3)  l2_2 = tanh(l1_4 l1_5)
 *   l2_3 = σ(l1_6 + l1_7)
 *   u = tanh(l2_0 + c')   c = u l2_1   v = tanh(l2_2 + l2_3)   m = tanh(c v)
 * Forward overwrites a with l1_k, except block 3, which keeps A3 (the backward needs A3
 * and B3 for the product's gradient, and recomputes whether A3 B3 > 0); sv ("saved")
 * receives [B3, l2_0, l2_1, l2_2, l2_3, u, v] per row. relu and its gradient follow torch:
 * relu(NaN) is NaN, and the gradient passes wherever relu's result is not <= 0.
 */

#define ROW(ptr, layout, k, b) ((ptr) + (long)(k) * s->layout##_ks + (long)(b) * s->layout##_rs)
#define SIGM CAT(sigm, SUFFIX)
#define RELU(x) ((x) < (REAL)0 ? (REAL)0 : (x))

static void CAT(nas_forward, SUFFIX)(const struct nas_step *s, REAL *a, const REAL *rh,
                              const REAL *cp, REAL *c, REAL *sv, REAL *m) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *bias = (const REAL *)s->bias + (long)k * 8 * N;
        REAL *ar = ROW(a, a, k, b), *svr = ROW(sv, sv, k, b);
        const REAL *rr = ROW(rh, rh, k, b), *cpr = ROW(cp, c, k, b);
        REAL *cr = ROW(c, c, k, b), *mr = ROW(m, h, k, b);
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            REAL pre[8];
            for (int q = 0; q < 8; q++) pre[q] = rr[q * N + j] + bias[q * N + j];
            const REAL b3 = pre[3], a3 = ar[3 * N + j];
            const REAL l0 = SIGM(ar[j] + pre[0]);
            const REAL l1 = RELU(ar[N + j] + pre[1]);
            const REAL l2 = SIGM(ar[2 * N + j] + pre[2]);
            const REAL l3 = RELU(a3 * b3);
            const REAL l4 = TANH(ar[4 * N + j] + pre[4]);
            const REAL l5 = SIGM(ar[5 * N + j] + pre[5]);
            const REAL l6 = TANH(ar[6 * N + j] + pre[6]);
            const REAL l7 = SIGM(ar[7 * N + j] + pre[7]);
            const REAL z0 = TANH(l0 * l1), z1 = TANH(l2 + l3);
            const REAL z2 = TANH(l4 * l5), z3 = SIGM(l6 + l7);
            const REAL u = TANH(z0 + cpr[j]);
            const REAL cn = u * z1;
            const REAL v = TANH(z2 + z3);
            ar[j] = l0; ar[N + j] = l1; ar[2 * N + j] = l2;
            ar[4 * N + j] = l4; ar[5 * N + j] = l5; ar[6 * N + j] = l6; ar[7 * N + j] = l7;
            svr[j] = b3; svr[N + j] = z0; svr[2 * N + j] = z1; svr[3 * N + j] = z2;
            svr[4 * N + j] = z3; svr[5 * N + j] = u; svr[6 * N + j] = v;
            cr[j] = cn;
            mr[j] = TANH(cn * v);
        }
    }
}

/* One step back. a, sv: this step's saved rows; c: its new cell (c' is not needed: u
 * carries it); m: its output; dh: the gradient reaching m from the next step (its gB U) or
 * from the final state; dy: the gradient of this step's output; dc: the cell's gradient
 * from the next step, replaced by the gradient of c'. ga and gb receive the gradients of
 * the pre-activations on the input and on the recurrent side: equal in every block but 3,
 * where the product A3 B3 gives ga_3 = d B3 and gb_3 = d A3 (d: the product's gradient). */
static void CAT(nas_backward, SUFFIX)(const struct nas_step *s, const REAL *a, const REAL *sv,
                               const REAL *c, const REAL *m, const REAL *dh, const REAL *dy,
                               REAL *dc, REAL *ga, REAL *gb) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *ar = ROW(a, a, k, b), *svr = ROW(sv, sv, k, b);
        const REAL *cr = ROW(c, c, k, b), *mr = ROW(m, h, k, b);
        const REAL *dhr = ROW(dh, dh, k, b), *dyr = ROW(dy, dy, k, b);
        REAL *dcr = ROW(dc, dc, k, b), *gar = ROW(ga, a, k, b), *gbr = ROW(gb, a, k, b);
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL mj = mr[j], v = svr[6 * N + j], u = svr[5 * N + j];
            const REAL z0 = svr[N + j], z1 = svr[2 * N + j];
            const REAL z2 = svr[3 * N + j], z3 = svr[4 * N + j];
            /* m = tanh(c v), c = u l2_1, u = tanh(l2_0 + c'), v = tanh(l2_2 + l2_3) */
            const REAL dmc = (dhr[j] + dyr[j]) * ((REAL)1 - mj * mj);
            const REAL dct = dcr[j] + dmc * v;
            const REAL dq = dmc * cr[j] * ((REAL)1 - v * v);
            const REAL dr = dct * z1 * ((REAL)1 - u * u);
            dcr[j] = dr;
            /* the second layer */
            const REAL d0 = dr * ((REAL)1 - z0 * z0);
            const REAL d1 = dct * u * ((REAL)1 - z1 * z1);
            const REAL d2 = dq * ((REAL)1 - z2 * z2);
            const REAL d3 = dq * (z3 * ((REAL)1 - z3));
            /* the first layer */
            const REAL l0 = ar[j], l1 = ar[N + j], l2 = ar[2 * N + j];
            const REAL l4 = ar[4 * N + j], l5 = ar[5 * N + j], l6 = ar[6 * N + j];
            const REAL l7 = ar[7 * N + j];
            const REAL a3 = ar[3 * N + j], b3 = svr[j], p3 = a3 * b3;
            const REAL g0 = d0 * l1 * (l0 * ((REAL)1 - l0));
            const REAL g1 = l1 <= (REAL)0 ? (REAL)0 : d0 * l0;
            const REAL g2 = d1 * (l2 * ((REAL)1 - l2));
            const REAL g3 = p3 <= (REAL)0 ? (REAL)0 : d1;
            const REAL g4 = d2 * l5 * ((REAL)1 - l4 * l4);
            const REAL g5 = d2 * l4 * (l5 * ((REAL)1 - l5));
            const REAL g6 = d3 * ((REAL)1 - l6 * l6);
            const REAL g7 = d3 * (l7 * ((REAL)1 - l7));
            gar[j] = g0; gar[N + j] = g1; gar[2 * N + j] = g2; gar[3 * N + j] = g3 * b3;
            gar[4 * N + j] = g4; gar[5 * N + j] = g5; gar[6 * N + j] = g6; gar[7 * N + j] = g7;
            gbr[j] = g0; gbr[N + j] = g1; gbr[2 * N + j] = g2; gbr[3 * N + j] = g3 * a3;
            gbr[4 * N + j] = g4; gbr[5 * N + j] = g5; gbr[6 * N + j] = g6; gbr[7 * N + j] = g7;
        }
    }
}

/* A unit (nb rows of trial k) as a stack of one trial (its bias block; the callers offset
 * the buffers, OWN). */
static struct nas_step CAT(nas_trial, SUFFIX)(const struct nas_step *s, int k, int nb) {
    struct nas_step t = *s;
    t.k = 1;
    t.b = nb;
    t.bias = (const REAL *)s->bias + (long)k * 8 * s->n;
    return t;
}

/* The whole sequence forward, as lstm_forward_seq (lstm.h): each step U m' (BLAS; U
 * [K, 8N, N]) into rh [K, B, 8N], then the step above. a [K, T, B, 8N], c and m
 * [K, T+1, B, N], sv [K, T, B, 7N]. Shared among threads by units (FOR_UNITS, common.h). */
void CAT(nas_forward_seq, SUFFIX)(const struct nas_step *s, int steps, void *gemm,
                                  const REAL *u, REAL *a, REAL *rh, REAL *c, REAL *sv,
                                  REAL *m) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = 8 * s->n;
    FOR_UNITS(s, (double)s->k * B * G * N * steps) {
        UNIT(s);
        const struct nas_step t = CAT(nas_trial, SUFFIX)(s, k, nb);
        const REAL *uk = u + (long)k * G * N;
        REAL *ak = OWN(a, a), *rhk = OWN(rh, rh), *ck = OWN(c, c);
        REAL *svk = OWN(sv, sv), *mk = OWN(m, h);
        for (int step = 0; step < steps; step++) {
            gemm_("T", "N", &G, &nb, &N, &one, uk, &N, mk + step * B * s->h_rs, &N, &zero,
                  rhk, &G);
            CAT(nas_forward, SUFFIX)(&t, ak + step * B * s->a_rs, rhk,
                                     ck + step * B * s->c_rs, ck + (step + 1) * B * s->c_rs,
                                     svk + step * B * s->sv_rs, mk + (step + 1) * B * s->h_rs);
        }
    }
}

/* The whole sequence back: each step, in reverse, the step above, then gb U (BLAS) into dh
 * [K, B, N] (the final state's gradient on entry, m0's on return; the kernel reads it before
 * the product overwrites it). dy [K, T, B, N]; dc [K, B, N] (c_T's, replaced by c0's); ga,
 * gb [K, T, B, 8N]. */
void CAT(nas_backward_seq, SUFFIX)(const struct nas_step *s, int steps, void *gemm,
                                   const REAL *u, const REAL *a, const REAL *sv,
                                   const REAL *c, const REAL *m, REAL *dh, const REAL *dy,
                                   REAL *dc, REAL *ga, REAL *gb) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = 8 * s->n;
    FOR_UNITS(s, (double)s->k * B * G * N * steps) {
        UNIT(s);
        const struct nas_step t = CAT(nas_trial, SUFFIX)(s, k, nb);
        const REAL *uk = u + (long)k * G * N, *ak = OWN(a, a);
        const REAL *svk = OWN(sv, sv), *ck = OWN(c, c), *mk = OWN(m, h);
        const REAL *dyk = OWN(dy, dy);
        REAL *dhk = OWN(dh, dh), *dck = OWN(dc, dc);
        REAL *gak = OWN(ga, a), *gbk = OWN(gb, a);
        for (int step = steps - 1; step >= 0; step--) {
            REAL *gbs = gbk + step * B * s->a_rs;
            CAT(nas_backward, SUFFIX)(&t, ak + step * B * s->a_rs, svk + step * B * s->sv_rs,
                                      ck + (step + 1) * B * s->c_rs,
                                      mk + (step + 1) * B * s->h_rs, dhk,
                                      dyk + step * B * s->dy_rs, dck,
                                      gak + step * B * s->a_rs, gbs);
            gemm_("N", "N", &N, &nb, &G, &one, uk, &N, gbs, &G, &zero, dhk, &N);
        }
    }
}

#undef RELU
#undef SIGM
#undef ROW
