/*
 * symbolic - a symbolic-computation and parser workload.
 *
 * Each round builds a random expression tree in x (constants, x, +, -, *,
 * unary minus), prints it to a string that grows with realloc, parses the
 * string back into a new tree, differentiates it symbolically (copying
 * subtrees, as a term-rewriting system does), simplifies the result
 * bottom-up (freeing the nodes it rewrites) and frees everything.
 *
 * Checks, in arithmetic modulo a prime so that they are exact: the parsed
 * tree evaluates like the original, and the simplified derivative
 * evaluates like forward-mode automatic differentiation of the original.
 */
#include "bench.h"

#define P 1000000007ULL

enum op { CONST, VAR, NEG, ADD, SUB, MUL };

struct node {
    enum op op;
    uint64_t val;
    struct node *l, *r;
};

static struct node *mk(enum op op, uint64_t val, struct node *l,
                       struct node *r)
{
    struct node *n = xmalloc(sizeof *n);
    n->op = op;
    n->val = val;
    n->l = l;
    n->r = r;
    return n;
}

static void drop(struct node *n)
{
    if (!n)
        return;
    drop(n->l);
    drop(n->r);
    free(n);
}

static struct node *copy(const struct node *n)
{
    if (!n)
        return NULL;
    return mk(n->op, n->val, copy(n->l), copy(n->r));
}

static struct node *gen(uint64_t *rng, int depth)
{
    uint64_t r = rng_next(rng) % 16;
    if (depth == 0 || r < 3)
        return (r & 1) ? mk(VAR, 0, NULL, NULL)
                       : mk(CONST, rng_next(rng) % 20, NULL, NULL);
    if (r < 4)
        return mk(NEG, 0, gen(rng, depth - 1), NULL);
    enum op op = r < 9 ? ADD : r < 12 ? SUB : MUL;
    struct node *a = gen(rng, depth - 1);
    return mk(op, 0, a, gen(rng, depth - 1));
}

static uint64_t eval(const struct node *n, uint64_t x)
{
    switch (n->op) {
    case CONST: return n->val;
    case VAR: return x;
    case NEG: return (P - eval(n->l, x)) % P;
    case ADD: return (eval(n->l, x) + eval(n->r, x)) % P;
    case SUB: return (eval(n->l, x) + P - eval(n->r, x)) % P;
    default: return eval(n->l, x) * eval(n->r, x) % P;
    }
}

/* Forward-mode AD: value and derivative at x. */
static void dual(const struct node *n, uint64_t x, uint64_t *v, uint64_t *d)
{
    uint64_t a, da, b, db;
    switch (n->op) {
    case CONST: *v = n->val; *d = 0; return;
    case VAR: *v = x; *d = 1; return;
    case NEG:
        dual(n->l, x, &a, &da);
        *v = (P - a) % P;
        *d = (P - da) % P;
        return;
    default:
        break;
    }
    dual(n->l, x, &a, &da);
    dual(n->r, x, &b, &db);
    switch (n->op) {
    case ADD: *v = (a + b) % P; *d = (da + db) % P; break;
    case SUB: *v = (a + P - b) % P; *d = (da + P - db) % P; break;
    default: *v = a * b % P; *d = (da * b % P + a * db % P) % P; break;
    }
}

static struct node *deriv(const struct node *n)
{
    switch (n->op) {
    case CONST: return mk(CONST, 0, NULL, NULL);
    case VAR: return mk(CONST, 1, NULL, NULL);
    case NEG: return mk(NEG, 0, deriv(n->l), NULL);
    case ADD:
    case SUB: return mk(n->op, 0, deriv(n->l), deriv(n->r));
    default:
        return mk(ADD, 0, mk(MUL, 0, deriv(n->l), copy(n->r)),
                  mk(MUL, 0, copy(n->l), deriv(n->r)));
    }
}

static int is_const(const struct node *n, uint64_t v)
{
    return n->op == CONST && n->val == v;
}

/* Consumes n, returns an equivalent, usually smaller tree. */
static struct node *simplify(struct node *n)
{
    if (n->l)
        n->l = simplify(n->l);
    if (n->r)
        n->r = simplify(n->r);
    struct node *l = n->l, *r = n->r, *keep;
    if (n->op == NEG && l->op == CONST) {
        l->val = (P - l->val) % P;
        free(n);
        return l;
    }
    if (n->op >= ADD && l->op == CONST && r->op == CONST) {
        uint64_t a = l->val, b = r->val;
        l->val = n->op == ADD ? (a + b) % P
                 : n->op == SUB ? (a + P - b) % P : a * b % P;
        free(r);
        free(n);
        return l;
    }
    if ((n->op == ADD && is_const(l, 0)) || (n->op == MUL && is_const(l, 1))) {
        keep = r;
        free(l);
    } else if (((n->op == ADD || n->op == SUB) && is_const(r, 0)) ||
               (n->op == MUL && is_const(r, 1))) {
        keep = l;
        free(r);
    } else if (n->op == MUL && (is_const(l, 0) || is_const(r, 0))) {
        drop(l);
        drop(r);
        keep = mk(CONST, 0, NULL, NULL);
    } else {
        return n;
    }
    free(n);
    return keep;
}

/* A string that grows with realloc. */
struct str {
    char *s;
    size_t len, cap;
};

static void put(struct str *b, const char *t)
{
    size_t n = strlen(t);
    if (b->len + n + 1 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        while (b->cap < b->len + n + 1)
            b->cap *= 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, t, n + 1);
    b->len += n;
}

static void print(const struct node *n, struct str *b)
{
    char num[24];
    switch (n->op) {
    case CONST:
        snprintf(num, sizeof num, "%llu", (unsigned long long)n->val);
        put(b, num);
        return;
    case VAR: put(b, "x"); return;
    case NEG: put(b, "-("); print(n->l, b); put(b, ")"); return;
    default:
        put(b, "(");
        print(n->l, b);
        put(b, n->op == ADD ? " + " : n->op == SUB ? " - " : " * ");
        print(n->r, b);
        put(b, ")");
    }
}

static struct node *parse(const char **s)
{
    const char *p = *s;
    struct node *n;
    if (*p == 'x') {
        n = mk(VAR, 0, NULL, NULL);
        p++;
    } else if (*p >= '0' && *p <= '9') {
        uint64_t v = 0;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (uint64_t)(*p++ - '0');
        n = mk(CONST, v, NULL, NULL);
    } else if (p[0] == '-' && p[1] == '(') {
        p += 2;
        n = mk(NEG, 0, parse(&p), NULL);
        bench_check(*p == ')', "parse: expected ')' at %.20s", p);
        p++;
    } else {
        bench_check(*p == '(', "parse: unexpected %.20s", p);
        p++;
        struct node *l = parse(&p);
        bench_check(p[0] == ' ' && p[2] == ' ', "parse: operator at %.20s", p);
        enum op op = p[1] == '+' ? ADD : p[1] == '-' ? SUB : MUL;
        p += 3;
        n = mk(op, 0, l, parse(&p));
        bench_check(*p == ')', "parse: expected ')' at %.20s", p);
        p++;
    }
    *s = p;
    return n;
}

static long count(const struct node *n)
{
    return n ? 1 + count(n->l) + count(n->r) : 0;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long rounds = bench_scaled(4000, scale, 20);
    uint64_t rng = 2024, sum = 0;

    for (long i = 0; i < rounds; i++) {
        struct node *e = gen(&rng, 12);
        struct str b = {0};
        print(e, &b);
        const char *p = b.s;
        struct node *e2 = parse(&p);
        bench_check(*p == '\0', "parse stopped early");
        free(b.s);
        struct node *d = simplify(deriv(e2));
        for (uint64_t x = 2; x < 5; x++) {
            uint64_t v, dv;
            dual(e, x, &v, &dv);
            bench_check(eval(e2, x) == v, "round %ld: parse changed value", i);
            bench_check(eval(d, x) == dv, "round %ld: wrong derivative", i);
            sum += v * 3 + dv;
        }
        sum += (uint64_t)count(d);
        drop(d);
        drop(e2);
        drop(e);
    }
    bench_ok("symbolic", sum);
    return 0;
}
