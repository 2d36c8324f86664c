/* top_screen.c - the full-screen view of `pyheapscope top` (ncursesw).
 *
 * Like htop's split, this file only draws the session the controller
 * (top.c) refreshes and turns keys into view state (sort, filter, scroll,
 * drill-down, pause, interval); it never reads the target itself. The
 * drill-down asks the heap layer for previews of objects in the last copy.
 * The terminal is restored on q, on errors, and when a signal ends us. */
#define _GNU_SOURCE
#include "top.h"

#include <curses.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pyheapscope/histogram.h"

#define DRILL_MAX 200
#define KEY_ESCAPE 27

enum mode { MODE_TABLE, MODE_DRILL, MODE_HELP, MODE_FILTER };

#define PREVIEW_LEN 96

struct drill_row {
    uint64_t addr, size;
};

struct view {
    enum mode mode, back_mode;
    enum growth_sort sort;
    int since_start;
    int paused;
    double interval;
    char filter[64];
    size_t filter_len;
    size_t selected, scroll;           /* table */
    char drill_kind[256];
    struct drill_row drill[DRILL_MAX];
    char previews[DRILL_MAX][PREVIEW_LEN];
    size_t ndrill, drill_scroll;
    size_t *visible;                   /* row indices that pass the filter */
    size_t nvisible;
    char message[256];
    int gone;                          /* the target exited: last data kept */
    int utf8;
};

/* ---- terminal restore that is safe inside a signal handler ---- */

static struct termios saved_termios;
static int have_saved_termios;

static void restore_terminal_from_signal(void)
{
    static const char reset[] = "\033[?1049l\033[?25h\033[0m\r\n";
    if (have_saved_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    if (write(STDOUT_FILENO, reset, sizeof reset - 1) < 0) {
        /* nothing more can be done from a signal handler */
    }
}

/* ---- filter and rows ---- */

static void apply_filter(struct view *v, const struct growth *g)
{
    size_t *nv = realloc(v->visible, (g->n + 1) * sizeof *nv);
    if (!nv)
        return;
    v->visible = nv;
    v->nvisible = 0;
    for (size_t i = 0; i < g->n; i++)
        if (!v->filter_len || strstr(g->rows[i].kind, v->filter))
            v->visible[v->nvisible++] = i;
    if (v->selected >= v->nvisible)
        v->selected = v->nvisible ? v->nvisible - 1 : 0;
}

static void load_drill(struct view *v, struct top_session *t)
{
    struct heap_object found[DRILL_MAX];
    v->ndrill = histogram_largest(&t->heap, v->drill_kind, found, DRILL_MAX);
    for (size_t i = 0; i < v->ndrill; i++) {
        v->drill[i].addr = found[i].addr;
        v->drill[i].size = found[i].size;
    }
    heap_previews(&t->heap, found, v->ndrill, &v->previews[0][0], PREVIEW_LEN);
    if (v->drill_scroll >= v->ndrill)
        v->drill_scroll = 0;
}

/* ---- drawing ---- */

static const char *sort_name(enum growth_sort s)
{
    switch (s) {
    case GROWTH_BY_SIZE: return "size";
    case GROWTH_BY_COUNT: return "count";
    case GROWTH_BY_DSIZE: return "Δsize";
    case GROWTH_BY_DCOUNT: return "Δcount";
    case GROWTH_BY_NAME: return "name";
    }
    return "";
}

static void draw_header(const struct view *v, const struct top_session *t)
{
    const struct growth *g = &t->growth;
    char up[32], rss[32], objs[32], bytes[32], dobjs[32], dbytes[32], tbuf[16];
    top_format_uptime(t->usage.uptime_seconds, up, sizeof up);
    cli_format_bytes(t->usage.rss_bytes, rss, sizeof rss);
    cli_format_count(g->count, objs, sizeof objs);
    cli_format_bytes(g->bytes, bytes, sizeof bytes);
    cli_format_signed_count(v->since_start ? g->scount : g->dcount, dobjs, sizeof dobjs);
    cli_format_signed_bytes(v->since_start ? g->sbytes : g->dbytes, dbytes, sizeof dbytes);
    strftime(tbuf, sizeof tbuf, "%H:%M:%S", localtime(&t->wall));
    attron(A_BOLD);
    mvprintw(0, 0, "pyheapscope top  pid %d  Python %s  up %s  RSS %s", (int)t->p.pid, t->p.version, up, rss);
    attroff(A_BOLD);
    mvprintw(1, 0, "%.*s", COLS > 0 ? COLS - 1 : 0, t->cmdline);
    mvprintw(2, 0, "Heap %s objects, %s (%s objects, %s %s)", objs, bytes, dobjs, dbytes,
             v->since_start ? "since start" : "since last refresh");
    mvprintw(3, 0, "GC gen0 %llu  gen1 %llu  gen2 %llu  permanent %llu   snapshot %.0f ms, %s %.1f ms at %s",
             (unsigned long long)t->gen_objects[0], (unsigned long long)t->gen_objects[1],
             (unsigned long long)t->gen_objects[2], (unsigned long long)t->permanent_objects,
             (double)t->timing.total_ns / 1e6, t->timing.paused ? "paused" : "not paused",
             (double)t->timing.pause_ns / 1e6, tbuf);
    mvprintw(4, 0, "Sort %s   interval %.1f s%s%s%s", sort_name(v->sort), v->interval,
             v->paused ? "   [PAUSED]" : "", v->filter_len ? "   filter: " : "", v->filter);
    if (v->gone) {
        attron(A_REVERSE | A_BOLD);
        mvprintw(5, 0, " Process %d has exited: the last data stays on screen. q quits. ", (int)t->p.pid);
        attroff(A_REVERSE | A_BOLD);
    } else if (v->message[0]) {
        mvprintw(5, 0, "%s", v->message);
    }
}

static void draw_table(struct view *v, const struct top_session *t)
{
    const struct growth *g = &t->growth;
    int top = 7, rows = LINES - top - 1;
    if (rows < 1)
        return;
    attron(A_REVERSE);
    mvprintw(top - 1, 0, "%11s %10s %11s %11s %6s %9s  %-*s", "COUNT", v->utf8 ? "ΔCOUNT" : "DCOUNT", "SIZE",
             v->utf8 ? "ΔSIZE" : "DSIZE", "%HEAP", "AVG", COLS > 66 ? COLS - 66 : 4, "KIND");
    attroff(A_REVERSE);
    if (v->selected < v->scroll)
        v->scroll = v->selected;
    if (v->selected >= v->scroll + (size_t)rows)
        v->scroll = v->selected - (size_t)rows + 1;
    for (int r = 0; r < rows && v->scroll + (size_t)r < v->nvisible; r++) {
        const struct growth_row *row = &g->rows[v->visible[v->scroll + (size_t)r]];
        char c[32], dc[32], s[32], ds[32], avg[32];
        cli_format_count(row->count, c, sizeof c);
        cli_format_signed_count(v->since_start ? row->scount : row->dcount, dc, sizeof dc);
        cli_format_bytes(row->bytes, s, sizeof s);
        cli_format_signed_bytes(v->since_start ? row->sbytes : row->dbytes, ds, sizeof ds);
        cli_format_bytes(row->count ? row->bytes / row->count : 0, avg, sizeof avg);
        if (v->scroll + (size_t)r == v->selected)
            attron(A_REVERSE);
        mvprintw(top + r, 0, "%11s %10s %11s %11s %6.1f %9s  %-*.*s", c, dc, s, ds,
                 g->bytes ? 100.0 * (double)row->bytes / (double)g->bytes : 0.0, avg,
                 COLS > 66 ? COLS - 66 : 4, COLS > 66 ? COLS - 66 : 4, row->kind);
        if (v->scroll + (size_t)r == v->selected)
            attroff(A_REVERSE);
    }
}

static void draw_drill(struct view *v)
{
    int top = 7, rows = LINES - top - 1;
    mvprintw(5, 0, "Largest instances of %s (%zu shown)   Esc: back", v->drill_kind, v->ndrill);
    attron(A_REVERSE);
    mvprintw(top - 1, 0, "%-18s %11s  %-*s", "ADDRESS", "SIZE", COLS > 33 ? COLS - 33 : 4, "PREVIEW");
    attroff(A_REVERSE);
    for (int r = 0; r < rows && v->drill_scroll + (size_t)r < v->ndrill; r++) {
        const struct drill_row *d = &v->drill[v->drill_scroll + (size_t)r];
        char s[32];
        cli_format_bytes(d->size, s, sizeof s);
        mvprintw(top + r, 0, "0x%016llx %11s  %.*s", (unsigned long long)d->addr, s, COLS > 33 ? COLS - 33 : 4,
                 v->previews[v->drill_scroll + (size_t)r]);
    }
}

static void draw_help(void)
{
    static const char *lines[] = {
        "pyheapscope top - keys",
        "",
        "  s  sort by size          c  sort by count         n  sort by name",
        "  S  sort by Δsize         C  sort by Δcount        t  Δ since start / since last",
        "  /  filter kinds by a substring (Enter keeps it, Esc clears it)",
        "  Enter  largest instances of the selected kind    Esc  back",
        "  p  pause / resume refreshing    +/-  longer / shorter interval",
        "  Up/Down PgUp/PgDn Home/End  move      q  quit      ?  this help",
        "",
        "Any key returns.",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        mvprintw(2 + (int)i, 2, "%s", lines[i]);
}

static void draw_footer(const struct view *v)
{
    const char *keys = v->mode == MODE_DRILL ? "Esc back  Up/Down scroll  q quit"
                     : v->mode == MODE_FILTER ? "type a substring, Enter keep, Esc clear"
                     : "? help  s c n S C sort  / filter  Enter drill  p pause  q quit";
    attron(A_REVERSE);
    mvprintw(LINES - 1, 0, "%-*.*s", COLS, COLS, keys);
    attroff(A_REVERSE);
    if (v->mode == MODE_FILTER)
        mvprintw(LINES - 2, 0, "Filter: %s", v->filter);
}

static void draw(struct view *v, const struct top_session *t)
{
    erase();
    if (v->mode == MODE_HELP) {
        draw_help();
    } else {
        draw_header(v, t);
        if (v->mode == MODE_DRILL)
            draw_drill(v);
        else
            draw_table(v, t);
    }
    draw_footer(v);
    refresh();
}

/* ---- keys ---- */

static void move_selection(struct view *v, long delta)
{
    size_t *pos = v->mode == MODE_DRILL ? &v->drill_scroll : &v->selected;
    size_t n = v->mode == MODE_DRILL ? v->ndrill : v->nvisible;
    long target = (long)*pos + delta;
    if (target < 0 || n == 0)
        target = 0;
    else if ((size_t)target >= n)
        target = (long)n - 1;
    *pos = (size_t)target;
}

/* Returns 1 to quit. */
static int handle_key(struct view *v, struct top_session *t, int ch)
{
    int page = LINES > 10 ? LINES - 9 : 1;
    if (v->mode == MODE_HELP) {
        v->mode = v->back_mode;
        return 0;
    }
    if (v->mode == MODE_FILTER) {
        if (ch == KEY_ESCAPE) {
            v->filter_len = 0;
            v->filter[0] = '\0';
            v->mode = MODE_TABLE;
        } else if (ch == '\n' || ch == KEY_ENTER) {
            v->mode = MODE_TABLE;
        } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && v->filter_len) {
            v->filter[--v->filter_len] = '\0';
        } else if (ch >= 0x20 && ch < 0x7f && v->filter_len + 1 < sizeof v->filter) {
            v->filter[v->filter_len++] = (char)ch;
            v->filter[v->filter_len] = '\0';
        }
        apply_filter(v, &t->growth);
        return 0;
    }
    switch (ch) {
    case 'q': return 1;
    case '?': case 'h': v->back_mode = v->mode; v->mode = MODE_HELP; break;
    case 's': v->sort = GROWTH_BY_SIZE; break;
    case 'c': v->sort = GROWTH_BY_COUNT; break;
    case 'S': v->sort = GROWTH_BY_DSIZE; break;
    case 'C': v->sort = GROWTH_BY_DCOUNT; break;
    case 'n': v->sort = GROWTH_BY_NAME; break;
    case 't': v->since_start = !v->since_start; break;
    case 'p': v->paused = !v->paused; break;
    case '+': case '=': v->interval = v->interval < 60 ? v->interval * 2 : v->interval; break;
    case '-': v->interval = v->interval > 0.25 ? v->interval / 2 : v->interval; break;
    case '/': if (v->mode == MODE_TABLE) v->mode = MODE_FILTER; break;
    case KEY_ESCAPE: case KEY_LEFT: case KEY_BACKSPACE:
        if (v->mode == MODE_DRILL)
            v->mode = MODE_TABLE;
        break;
    case '\n': case KEY_ENTER: case KEY_RIGHT:
        if (v->mode == MODE_TABLE && v->nvisible) {
            snprintf(v->drill_kind, sizeof v->drill_kind, "%s", t->growth.rows[v->visible[v->selected]].kind);
            v->drill_scroll = 0;
            load_drill(v, t);
            v->mode = MODE_DRILL;
        }
        break;
    case KEY_UP: move_selection(v, -1); break;
    case KEY_DOWN: move_selection(v, 1); break;
    case KEY_PPAGE: move_selection(v, -page); break;
    case KEY_NPAGE: move_selection(v, page); break;
    case KEY_HOME: move_selection(v, -(long)1e9); break;
    case KEY_END: move_selection(v, (long)1e9); break;
    default: break;
    }
    growth_sort(&t->growth, v->sort, v->since_start);
    apply_filter(v, &t->growth);
    return 0;
}

/* ---- the loop ---- */

int top_screen_run(struct top_session *t, const struct cli_opts *o)
{
    struct phs_error err = {0};
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "pyheapscope top: the full-screen view needs a terminal; use --batch or --json\n");
        return phs_status_exit_code(PHS_USAGE);
    }
    /* First refresh before the screen takes over, so errors print plainly. */
    if (top_refresh(t, &err) != PHS_OK)
        return cli_fail("top", &err);
    struct view v;
    memset(&v, 0, sizeof v);
    v.sort = (enum growth_sort)o->sort;
    v.interval = o->interval;
    setlocale(LC_ALL, "");
    v.utf8 = MB_CUR_MAX > 1;
    if (tcgetattr(STDIN_FILENO, &saved_termios) == 0)
        have_saved_termios = 1;
    pause_set_fatal_signal_hook(restore_terminal_from_signal);
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    growth_sort(&t->growth, v.sort, v.since_start);
    apply_filter(&v, &t->growth);
    uint64_t next = monotonic_ns() + (uint64_t)(v.interval * 1e9);
    long refreshes = 1;
    for (;;) {
        draw(&v, t);
        uint64_t now = monotonic_ns();
        int wait_ms = now >= next ? 0 : (int)((next - now) / 1000000);
        timeout(wait_ms > 200 ? 200 : wait_ms);
        int ch = getch();
        if (ch != ERR && handle_key(&v, t, ch))
            break;
        if (v.paused || v.gone || monotonic_ns() < next)
            continue;
        enum phs_status st = top_refresh(t, &err);
        next = monotonic_ns() + (uint64_t)(v.interval * 1e9);
        if (st != PHS_OK) {
            if (target_check_alive(t->p.pid, NULL) != PHS_OK)
                v.gone = 1;
            else
                snprintf(v.message, sizeof v.message, "refresh failed: %s", err.msg);
            continue;
        }
        v.message[0] = '\0';
        growth_sort(&t->growth, v.sort, v.since_start);
        apply_filter(&v, &t->growth);
        if (v.mode == MODE_DRILL)
            load_drill(&v, t);
        if (o->iterations > 0 && ++refreshes >= o->iterations)
            break;
    }
    endwin();
    pause_set_fatal_signal_hook(NULL);
    free(v.visible);
    return 0;
}
