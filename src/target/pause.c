/* pause.c - stops every thread of the target and lets it go again.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT only: if pyheapscope dies, the kernel
 * detaches and the target runs on. One pause object, one resume path, also
 * reached from the signal handlers installed here. Never writes the target's
 * memory or registers; a signal that arrives while stopped is re-injected on
 * detach, never swallowed. */
#define _GNU_SOURCE
#include "pyheapscope/target.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* Re-reads of /proc/PID/task before giving up on a process that keeps
 * spawning threads faster than we can stop them. */
#define MAX_TASK_PASSES 64

/* The pause the signal handlers must undo. Only ever one at a time. */
static struct pause *volatile active_pause;

static void release_all(struct pause *p)
{
    /* Async-signal-safe: only ptrace() calls. errno is saved so a handler
     * interrupting other code leaves it as found. */
    int saved = errno;
    for (size_t i = 0; i < p->n; i++)
        if (p->threads[i].tid > 0) {
            ptrace(PTRACE_DETACH, p->threads[i].tid, NULL,
                   (void *)(intptr_t)p->threads[i].pending_signal);
            p->threads[i].tid = 0;
        }
    errno = saved;
}

static void (*volatile fatal_signal_hook)(void);

void pause_set_fatal_signal_hook(void (*hook)(void))
{
    fatal_signal_hook = hook;
}

static void on_fatal_signal(int sig)
{
    struct pause *p = active_pause;
    if (p)
        release_all(p);
    if (fatal_signal_hook)
        fatal_signal_hook();
    signal(sig, SIG_DFL);
    raise(sig);
}

void pause_install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static int already_seized(const struct pause *p, pid_t tid)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->threads[i].tid == tid)
            return 1;
    return 0;
}

static const char *ptrace_hint(void)
{
    return "ptrace needs the same user as the target and kernel.yama.ptrace_scope <= 1 "
           "(see /proc/sys/kernel/yama/ptrace_scope), or CAP_SYS_PTRACE "
           "(in a container: --cap-add SYS_PTRACE)";
}

/* Wait until tid reports its stop. Returns 0 when stopped, -1 if the thread
 * is gone. A signal-delivery-stop counts as stopped; its signal is kept to
 * be re-injected at detach. */
static int wait_stopped(struct pause_thread *t)
{
    for (int tries = 0; tries < 1000; tries++) {
        int status;
        pid_t r = waitpid(t->tid, &status, __WALL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status))
            return -1;
        if (!WIFSTOPPED(status))
            continue;
        int event = status >> 16;
        if (event == PTRACE_EVENT_STOP)
            return 0;            /* interrupt stop or group stop */
        if (event == 0) {
            t->pending_signal = WSTOPSIG(status);
            return 0;            /* signal-delivery-stop: stopped, signal kept */
        }
        return 0;
    }
    return -1;
}

static enum phs_status seize_one(struct pause *p, pid_t tid, struct phs_error *err)
{
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
        int e = errno;
        if (e == ESRCH)
            return PHS_OK;           /* the thread ended between listing and seizing */
        if (e == EPERM)
            return phs_error_set(err, PHS_PERMISSION, e, "cannot attach to process %d: %s; %s",
                                 (int)p->pid, strerror(e), ptrace_hint());
        return phs_error_set(err, phs_status_from_errno(e, PHS_IO), e,
                             "cannot attach to thread %d of process %d: %s",
                             (int)tid, (int)p->pid, strerror(e));
    }
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        struct pause_thread *nv = realloc(p->threads, ncap * sizeof *nv);
        if (!nv) {
            ptrace(PTRACE_DETACH, tid, NULL, NULL);
            return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        }
        p->threads = nv;
        p->cap = ncap;
    }
    struct pause_thread *t = &p->threads[p->n++];
    t->tid = tid;
    t->pending_signal = 0;

    /* Test hook: make the target die right after the first seize, so the
     * "exits during attach" path is exercised deterministically. */
    const char *hook = getenv("PYHEAPSCOPE_TEST_HOOK");
    if (hook && strcmp(hook, "exit-during-attach") == 0 && p->n == 1)
        kill(p->pid, SIGKILL);

    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || wait_stopped(t) < 0) {
        t->tid = 0;      /* gone: nothing to detach */
        if (kill(p->pid, 0) < 0 && errno == ESRCH)
            return phs_error_set(err, PHS_EXITED, ESRCH, "process %d exited during attach", (int)p->pid);
        char stat[64];
        snprintf(stat, sizeof stat, "/proc/%d/task/%d", (int)p->pid, (int)tid);
        if (access(stat, F_OK) == 0 && tid == p->pid) {
            /* Main thread gone but the directory is still there: a zombie. */
            return phs_error_set(err, PHS_EXITED, 0, "process %d exited during attach", (int)p->pid);
        }
    }
    return PHS_OK;
}

enum phs_status pause_begin(struct pause *p, pid_t pid, struct phs_error *err)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    active_pause = p;
    enum phs_status st = PHS_OK;
    for (int pass = 0; pass < MAX_TASK_PASSES; pass++) {
        pid_t *tids;
        size_t n;
        st = target_threads(pid, &tids, &n, err);
        if (st != PHS_OK) {
            if (p->n > 0 && st == PHS_NO_PROCESS)
                st = phs_error_set(err, PHS_EXITED, ESRCH, "process %d exited during attach", (int)pid);
            break;
        }
        size_t added = 0;
        for (size_t i = 0; i < n && st == PHS_OK; i++)
            if (!already_seized(p, tids[i])) {
                st = seize_one(p, tids[i], err);
                added++;
            }
        free(tids);
        if (st != PHS_OK)
            break;
        if (n == 0) {
            st = phs_error_set(err, PHS_EXITED, 0, "process %d has no threads left", (int)pid);
            break;
        }
        if (added == 0) {
            p->paused_ns = monotonic_ns();
            /* Test hook: stay paused for a while, so a test can signal us
             * while the target is stopped and check it is released. */
            const char *hook = getenv("PYHEAPSCOPE_TEST_HOOK");
            if (hook && strcmp(hook, "hold-pause") == 0)
                sleep(5);
            return PHS_OK;
        }
    }
    if (st == PHS_OK)
        st = phs_error_set(err, PHS_IO, 0, "process %d kept creating threads; could not stop them all",
                           (int)pid);
    pause_end(p);
    return st;
}

uint64_t pause_end(struct pause *p)
{
    uint64_t stopped = p->paused_ns ? monotonic_ns() - p->paused_ns : 0;
    release_all(p);
    active_pause = NULL;
    free(p->threads);
    p->threads = NULL;
    p->n = p->cap = 0;
    p->paused_ns = 0;
    return stopped;
}
