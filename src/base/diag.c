/*
 * diag.c - output that works inside the allocator: formatting into a stack
 * buffer and write(2), never stdio, so a report cannot recurse into malloc.
 */
#include "base/diag.h"

#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/os.h"

static size_t put_unsigned(char *buf, size_t pos, size_t size, unsigned long long v, unsigned base)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n > 0 && pos + 1 < size)
        buf[pos++] = tmp[--n];
    return pos;
}

size_t hmm_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t pos = 0;
    for (const char *f = fmt; *f && pos + 1 < size; f++) {
        if (*f != '%') {
            buf[pos++] = *f;
            continue;
        }
        f++;
        int longs = 0;
        bool sz = false;
        while (*f == 'l') {
            longs++;
            f++;
        }
        if (*f == 'z') {
            sz = true;
            f++;
        }
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s && pos + 1 < size; s++)
                buf[pos++] = *s;
            break;
        }
        case 'd': {
            long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
            if (v < 0 && pos + 1 < size) {
                buf[pos++] = '-';
                v = -v;
            }
            pos = put_unsigned(buf, pos, size, (unsigned long long)v, 10);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = sz      ? va_arg(ap, size_t)
                                   : longs ? va_arg(ap, unsigned long long)
                                           : va_arg(ap, unsigned);
            pos = put_unsigned(buf, pos, size, v, *f == 'u' ? 10 : 16);
            break;
        }
        case 'p':
            if (pos + 3 < size) {
                buf[pos++] = '0';
                buf[pos++] = 'x';
            }
            pos = put_unsigned(buf, pos, size, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%':
            buf[pos++] = '%';
            break;
        default:
            return pos;
        }
    }
    buf[pos] = '\0';
    return pos;
}

size_t hmm_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = hmm_vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

size_t hmm_expand_path(const char *tmpl, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *f = tmpl; *f && n + 1 < size; f++) {
        if (f[0] == '%' && f[1] == 'p') {
            n += hmm_format(buf + n, size - n, "%llu", (unsigned long long)hmm_os_getpid());
            f++;
        } else {
            buf[n++] = *f;
            f += f[0] == '%' && f[1] == '%';
        }
    }
    buf[n] = '\0';
    return n;
}

bool hmm_out_open(hmm_out *o, const char *tmpl, int fd, const char *what)
{
    o->n = 0;
    o->owned = false;
    o->err = 0;
    o->what = what;
    o->fd = fd;
    if (!*tmpl) {
        /* What the callers pass: standard error or a copy of it. */
        hmm_format(o->path, sizeof o->path, "standard error");
        return true;
    }
    hmm_expand_path(tmpl, o->path, sizeof o->path);
    o->fd = hmm_os_create(o->path);
    if (o->fd < 0) {
        hmm_warn("cannot write the %s to %s: %s", what, o->path, hmm_os_error_text(-o->fd));
        o->fd = -1;
        return false;
    }
    o->owned = true;
    return true;
}

void hmm_out_flush(hmm_out *o)
{
    if (o->fd >= 0 && o->n) {
        int err = hmm_os_write(o->fd, o->buf, o->n);
        if (err && !o->err)
            o->err = err;
    }
    o->n = 0;
}

void hmm_out_write(hmm_out *o, const char *buf, size_t len)
{
    while (len) {
        if (o->n == sizeof o->buf)
            hmm_out_flush(o);
        size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
        memcpy(o->buf + o->n, buf, k);
        o->n += k;
        buf += k;
        len -= k;
    }
}

void hmm_out_puts(hmm_out *o, const char *s) { hmm_out_write(o, s, strlen(s)); }

void hmm_out_copy(hmm_out *o, const char *path)
{
    int fd = hmm_os_open_read(path);
    if (fd < 0)
        return;
    char buf[4096];
    size_t n;
    while ((n = hmm_os_read(fd, buf, sizeof buf)) > 0)
        hmm_out_write(o, buf, n);
    hmm_os_close(fd);
}

void hmm_out_printf(hmm_out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t len = hmm_vformat(line, sizeof line, fmt, ap);
    va_end(ap);
    hmm_out_write(o, line, len);
}

void hmm_out_close(hmm_out *o)
{
    hmm_out_flush(o);
    if (o->err)
        hmm_warn("cannot write the %s to %s: %s (it is incomplete)", o->what, o->path,
                 hmm_os_error_text(o->err));
    if (o->owned)
        hmm_os_close(o->fd);
    o->fd = -1;
    o->owned = false;
}

void hmm_printf(int fd, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = hmm_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hmm_os_write(fd, buf, n);
}

/* Writes PREFIX, the formatted message and a newline to fd as one write. */
static void report(int fd, const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n = 0;
    while (*prefix)
        buf[n++] = *prefix++;
    n += hmm_vformat(buf + n, sizeof buf - n - 1, fmt, ap);
    buf[n++] = '\n';
    hmm_os_write(fd, buf, n);
}

void hmm_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(hmm_opt.warn_fd, "libhmm: warning: ", fmt, ap);
    va_end(ap);
}

void hmm_misuse(const char *func, const char *what, const void *addr)
{
    hmm_misusef(func, "%s %p", what, addr);
}

void hmm_misusef(const char *func, const char *fmt, ...)
{
    char prefix[64];
    hmm_format(prefix, sizeof prefix, "libhmm: %s(): ", func);
    va_list ap;
    va_start(ap, fmt);
    report(2, prefix, fmt, ap);
    va_end(ap);
    abort();
}

void hmm_corrupt_list(const char *func, const void *at)
{
    hmm_misuse(func, "corrupted free list at", at);
}

void hmm_corrupt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(2, "libhmm: heap corrupted: ", fmt, ap);
    va_end(ap);
    abort();
}
