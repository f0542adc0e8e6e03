/* The LSTM family's elementwise step, forward and backward, for one scalar type.
 *
 * Included twice by cells.c with REAL = float / double and SUFFIX = f32 / f64. One call
 * handles one time step of K independent trials. Buffers are batch-major, as torch's: row b
 * of trial k starts at  base + k * ks + b * rs  (the buffer's trial and row strides), so
 * the matrix products around the kernel need no copies and each step's rows are together.
 *
 * A row of gates holds blocks of N units in the order i, f, z, o; an absent gate has no
 * block (its offset is -1). Forward: the pre-activation of a gate is a (W x + b, from the input
 * projections) + rh (R h', this step's product), plus the peephole term; a is overwritten
 * with the activations, which the backward reads.
 */

static inline REAL CAT(sigm, SUFFIX)(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }

/* row b of trial k in buffer ptr, whose strides are the fields <layout>_ks and <layout>_rs */
#define ROW(ptr, layout, k, b) ((ptr) + (long)(k) * s->layout##_ks + (long)(b) * s->layout##_rs)

static void CAT(lstm_forward, SUFFIX)(const struct lstm_step *s, REAL *a, const REAL *rh,
                               const REAL *cp, REAL *c, REAL *hc, REAL *h) {
    const int N = s->n;
    const int oi = s->oi, of = s->of, oz = s->oz, oo = s->oo;
    const int coupled = s->flags & COUPLED, tanh_g = s->flags & TANH_G;
    const int tanh_h = s->flags & TANH_H, fgr = s->flags & FGR;
    FOR_ROWS(s) {
        const REAL *pi = s->p_i ? (const REAL *)s->p_i + (long)k * N : 0;
        const REAL *pf = s->p_f ? (const REAL *)s->p_f + (long)k * N : 0;
        const REAL *po = s->p_o ? (const REAL *)s->p_o + (long)k * N : 0;
        REAL *ar = ROW(a, a, k, b);
        const REAL *rr = ROW(rh, rh, k, b), *cpr = ROW(cp, c, k, b);
        REAL *cr = ROW(c, c, k, b), *hr = ROW(h, h, k, b);
        REAL *hcr = tanh_h ? ROW(hc, hc, k, b) : cr;
        REAL *ai = oi >= 0 ? ar + oi * N : 0, *af = of >= 0 ? ar + of * N : 0;
        REAL *az = ar + oz * N, *ao = oo >= 0 ? ar + oo * N : 0;
        const REAL *rz = rr + oz * N;
        /* the gates that read c' */
        if (ai) {
            const REAL *ri = rr + oi * N;
            if (pi) for (int j = 0; j < N; j++) ai[j] = CAT(sigm, SUFFIX)(ai[j] + ri[j] + pi[j] * cpr[j]);
            else for (int j = 0; j < N; j++) ai[j] = CAT(sigm, SUFFIX)(ai[j] + ri[j]);
        }
        if (af) {
            const REAL *rf = rr + of * N;
            if (pf) for (int j = 0; j < N; j++) af[j] = CAT(sigm, SUFFIX)(af[j] + rf[j] + pf[j] * cpr[j]);
            else for (int j = 0; j < N; j++) af[j] = CAT(sigm, SUFFIX)(af[j] + rf[j]);
        }
        if (tanh_g) for (int j = 0; j < N; j++) az[j] = TANH(az[j] + rz[j]);
        else for (int j = 0; j < N; j++) az[j] += rz[j];
        /* the cell */
        if (ai && coupled) for (int j = 0; j < N; j++) cr[j] = cpr[j] + ai[j] * (az[j] - cpr[j]);
        else if (ai && af) for (int j = 0; j < N; j++) cr[j] = az[j] * ai[j] + cpr[j] * af[j];
        else if (ai) for (int j = 0; j < N; j++) cr[j] = az[j] * ai[j] + cpr[j];
        else if (af) for (int j = 0; j < N; j++) cr[j] = az[j] + cpr[j] * af[j];
        else for (int j = 0; j < N; j++) cr[j] = az[j] + cpr[j];
        if (tanh_h) for (int j = 0; j < N; j++) hcr[j] = TANH(cr[j]);
        /* the output gate's peephole reads the new c */
        if (ao) {
            const REAL *ro = rr + oo * N;
            if (po) for (int j = 0; j < N; j++) ao[j] = CAT(sigm, SUFFIX)(ao[j] + ro[j] + po[j] * cr[j]);
            else for (int j = 0; j < N; j++) ao[j] = CAT(sigm, SUFFIX)(ao[j] + ro[j]);
            for (int j = 0; j < N; j++) hr[j] = hcr[j] * ao[j];
        } else {
            for (int j = 0; j < N; j++) hr[j] = hcr[j];
        }
        if (fgr) { /* the recurrent input also carries the own gates: [y; i; f; o] */
            REAL *next = hr + N;
            const REAL *gates[3] = {ai, af, ao};
            for (int q = 0; q < 3; q++) {
                if (!gates[q]) continue;
                for (int j = 0; j < N; j++) next[j] = gates[q][j];
                next += N;
            }
        }
    }
}

/* One step back. dh: the gradient reaching this step's recurrent input h (width H) from the
 * next step (g' R) or from the final state; dy: the gradient of this step's output y;
 * dc: the cell's gradient from the next step, replaced by the gradient of c'. g receives
 * the gate pre-activation gradients. Peephole gradients are summed by the caller.
 *
 * The loop over the units has no branches, so that it vectorises: an absent gate reads a
 * block of ones (its constant value) and writes its gradient into a scratch block, an
 * absent gate-recurrence term reads zeros. spare holds 2 N elements for the ones and zeros;
 * the scratch block is each row's own (rows may run on different threads). */
static void CAT(lstm_backward, SUFFIX)(const struct lstm_step *s, const REAL *a, const REAL *cp,
                                const REAL *c, const REAL *hc, const REAL *dh, const REAL *dy,
                                REAL *dc, REAL *g, REAL *spare) {
    const int N = s->n;
    const int oi = s->oi, of = s->of, oz = s->oz, oo = s->oo;
    const int coupled = (s->flags & COUPLED) != 0, tanh_g = (s->flags & TANH_G) != 0;
    const int tanh_h = (s->flags & TANH_H) != 0, fgr = (s->flags & FGR) != 0;
    const REAL *ones = spare, *zeros = spare + N;
    /* where the gates sit inside dh under full gate recurrence (order i, f, o), else -1 */
    int hi = -1, hf = -1, ho = -1;
    if (fgr) {
        int at = N;
        if (oi >= 0) { hi = at; at += N; }
        if (of >= 0) { hf = at; at += N; }
        if (oo >= 0) { ho = at; }
    }
    FOR_ROWS(s) {
        REAL scratch[N];
        const REAL *pi = s->p_i ? (const REAL *)s->p_i + (long)k * N : zeros;
        const REAL *pf = s->p_f ? (const REAL *)s->p_f + (long)k * N : zeros;
        const REAL *po = s->p_o ? (const REAL *)s->p_o + (long)k * N : zeros;
        const REAL *ar = ROW(a, a, k, b), *dhr = ROW(dh, dh, k, b);
        REAL *gr = ROW(g, g, k, b);
        const REAL *cpr = ROW(cp, c, k, b), *cr = ROW(c, c, k, b);
        const REAL *hcr = tanh_h ? ROW(hc, hc, k, b) : cr;
        const REAL *dyr = ROW(dy, dy, k, b);
        REAL *dcr = ROW(dc, dc, k, b);
        const REAL *ai = oi >= 0 ? ar + oi * N : ones, *af = of >= 0 ? ar + of * N : ones;
        const REAL *az = ar + oz * N, *ao = oo >= 0 ? ar + oo * N : ones;
        REAL *gi = oi >= 0 ? gr + oi * N : scratch, *gf = of >= 0 ? gr + of * N : scratch;
        REAL *gz = gr + oz * N, *go = oo >= 0 ? gr + oo * N : scratch;
        const REAL *dhi = hi >= 0 ? dhr + hi : zeros, *dhf = hf >= 0 ? dhr + hf : zeros;
        const REAL *dho = ho >= 0 ? dhr + ho : zeros;
        /* the blocks never overlap: no run-time alias checks */
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL dyt = dhr[j] + dyr[j];
            const REAL oj = ao[j], hcj = hcr[j];
            const REAL d_o = (dyt * hcj + dho[j]) * (oj * ((REAL)1 - oj));
            go[j] = d_o;
            const REAL dhc = dyt * oj;
            const REAL dcj = dcr[j] + d_o * po[j]
                             + (tanh_h ? dhc * ((REAL)1 - hcj * hcj) : dhc);
            const REAL ij = ai[j], zj = az[j], cpj = cpr[j], fj = af[j];
            const REAL dz = dcj * ij;
            gz[j] = tanh_g ? dz * ((REAL)1 - zj * zj) : dz;
            const REAL di = (dcj * (coupled ? zj - cpj : zj) + dhi[j]) * (ij * ((REAL)1 - ij));
            gi[j] = di;
            const REAL df = (dcj * cpj + dhf[j]) * (fj * ((REAL)1 - fj));
            gf[j] = df;
            /* c' reaches c through c = z i + c' f (f = 1 - i when coupled), and peepholes */
            dcr[j] = dcj * (coupled ? (REAL)1 - ij : fj) + di * pi[j] + df * pf[j];
        }
    }
}

/* A unit (nb rows of trial k) as a stack of one trial of nb rows: its struct (the callers
 * offset the buffers to the unit's rows, OWN). */
static struct lstm_step CAT(lstm_trial, SUFFIX)(const struct lstm_step *s, int k, int nb) {
    struct lstm_step t = *s;
    const long n = s->n;
    t.k = 1;
    t.b = nb;
    t.p_i = s->p_i ? (const REAL *)s->p_i + k * n : 0;
    t.p_f = s->p_f ? (const REAL *)s->p_f + k * n : 0;
    t.p_o = s->p_o ? (const REAL *)s->p_o + k * n : 0;
    return t;
}

/* The whole sequence forward: each step R h' (the BLAS gemm; R [K, G, H]) into rh, then the
 * step above. Buffers as lstm_native.py lays them out: a [K, T, B, G], c [K, T+1, B, N],
 * hc [K, T, B, N] (or NULL), h [K, T+1, B, H], rh [K, B, G]. Shared among threads by units
 * (FOR_UNITS, common.h). */
void CAT(lstm_forward_seq, SUFFIX)(const struct lstm_step *s, int steps, void *gemm,
                                   const REAL *r, REAL *a, REAL *rh, REAL *c, REAL *hc,
                                   REAL *h) {
    USING_BLAS(gemm);
    const int B = s->b, G = (int)s->a_rs, H = (int)s->h_rs;
    FOR_UNITS(s, (double)s->k * B * G * H * steps) {
        UNIT(s);
        const struct lstm_step t = CAT(lstm_trial, SUFFIX)(s, k, nb);
        const REAL *rk = r + (long)k * G * H;
        REAL *ak = OWN(a, a), *rhk = OWN(rh, rh), *ck = OWN(c, c);
        REAL *hck = hc ? OWN(hc, hc) : 0, *hk = OWN(h, h);
        for (int step = 0; step < steps; step++) {
            gemm_("T", "N", &G, &nb, &H, &one, rk, &H, hk + step * B * s->h_rs, &H, &zero,
                  rhk, &G);
            CAT(lstm_forward, SUFFIX)(&t, ak + step * B * s->a_rs, rhk,
                                      ck + step * B * s->c_rs, ck + (step + 1) * B * s->c_rs,
                                      hck ? hck + step * B * s->hc_rs : 0,
                                      hk + (step + 1) * B * s->h_rs);
        }
    }
}

/* The whole sequence back: each step, in reverse, the step above, then g R (BLAS) into one
 * of two buffers [K, B, H] (the kernel reads one while the product writes the other). dh:
 * the final state's gradient [K, B, H]; dy [K, T, B, N]; dc [K, B, N] (the final cell's,
 * replaced by c0's); g [K, T, B, G]. The gradient of h0 is left in buffers[0]. */
void CAT(lstm_backward_seq, SUFFIX)(const struct lstm_step *s, int steps, void *gemm,
                                    const REAL *r, const REAL *a, const REAL *c,
                                    const REAL *hc, const REAL *dh, const REAL *dy, REAL *dc,
                                    REAL *g, REAL *spare, REAL *buffer0, REAL *buffer1) {
    USING_BLAS(gemm);
    const int B = s->b, G = (int)s->g_rs, H = (int)s->dh_rs, N = s->n;
    for (int j = 0; j < N; j++) { spare[j] = (REAL)1; spare[N + j] = (REAL)0; }
    FOR_UNITS(s, (double)s->k * B * G * H * steps) {
        UNIT(s);
        const struct lstm_step t = CAT(lstm_trial, SUFFIX)(s, k, nb);
        const REAL *rk = r + (long)k * G * H, *ak = OWN(a, a), *ck = OWN(c, c);
        const REAL *hck = hc ? OWN(hc, hc) : 0, *dyk = OWN(dy, dy);
        REAL *dck = OWN(dc, dc), *gk = OWN(g, g);
        REAL *buffers[2] = {OWN(buffer0, dh), OWN(buffer1, dh)};
        const REAL *dhk = OWN(dh, dh);
        for (int step = steps - 1; step >= 0; step--) {
            REAL *gs = gk + step * B * s->g_rs;
            CAT(lstm_backward, SUFFIX)(&t, ak + step * B * s->a_rs, ck + step * B * s->c_rs,
                                       ck + (step + 1) * B * s->c_rs,
                                       hck ? hck + step * B * s->hc_rs : 0, dhk,
                                       dyk + step * B * s->dy_rs, dck, gs, spare);
            gemm_("N", "N", &H, &nb, &G, &one, rk, &H, gs, &G, &zero, buffers[step % 2], &H);
            dhk = buffers[step % 2];
        }
    }
}

#undef ROW
