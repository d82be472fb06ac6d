/*
 * ptlab kernel-run workload: runs inside a QEMU guest as PID 1's child (see initramfs.ts) and
 * drives the kernel paths ptlab models, one named phase at a time, printing before and after
 * each phase what the kernel itself counted:
 *   - the CAL, TLB and RES lines of /proc/interrupts (per CPU);
 *   - the nr_tlb_* lines of /proc/vmstat (present only with CONFIG_DEBUG_TLBFLUSH);
 *   - tracefs events, counted per CPU inside the guest (tlb:tlb_flush by reason,
 *     irq_vectors:call_function_entry, irq_vectors:call_function_single_entry) when present.
 *
 * Built by the tool with `gcc -static -O2 -pthread`. Input: /phases.txt, one phase per line:
 *   NAME KIND COUNT ROLE[,ROLE...]
 * where KIND is munmap | fork_exit | gup_fast | collapse | hugetlb_fork | baseline, COUNT the
 * operations each `op` thread performs, and each ROLE is CPU:op, CPU:spin (a thread of the same
 * process spinning in user mode) or CPU:sleep (a thread of the same process blocked: its CPU
 * goes idle, lazy in the mm). Each phase runs in a fresh process, forked on the first op's CPU,
 * so the mm has run only on the CPUs the roles name.
 *
 * Output lines start with "@@ptlab " (parsed by output.ts); everything else is ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

#define MAX_ROLES 64
#define PMD_SIZE (2UL << 20)
#define PUD_SIZE (1UL << 30)
#define PAGE 4096UL

enum role_kind { ROLE_OP, ROLE_SPIN, ROLE_SLEEP };
struct role { int cpu; enum role_kind kind; };
struct phase { char name[64]; char kind[32]; long count; int nroles; struct role roles[MAX_ROLES]; };

static const char *TRACEFS = "/sys/kernel/tracing";
static int have_trace;
static atomic_int stop_spin;
static atomic_int ready;
static pthread_mutex_t sleep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cv = PTHREAD_COND_INITIALIZER;
static int sleep_done;
static int op_start;
static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cv = PTHREAD_COND_INITIALIZER;

static void die(const char *what) {
	printf("@@ptlab error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	_exit(3);
}

static void pin(int cpu) {
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s) != 0) die("sched_setaffinity");
}

static int write_file(const char *path, const char *text) {
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0) return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* /proc/interrupts: the header (CPU count) and the CAL, TLB and RES lines, as they are. */
static void snapshot(const char *phase, const char *when) {
	char line[8192];
	FILE *f = fopen("/proc/interrupts", "r");
	if (!f) die("/proc/interrupts");
	int first = 1;
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ') p++;
		if (first || !strncmp(p, "CAL:", 4) || !strncmp(p, "TLB:", 4) || !strncmp(p, "RES:", 4)) {
			line[strcspn(line, "\n")] = 0;
			printf("@@ptlab irq %s %s %s\n", phase, when, first ? p : p);
		}
		first = 0;
	}
	fclose(f);
	f = fopen("/proc/vmstat", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			if (!strncmp(line, "nr_tlb_", 7)) {
				line[strcspn(line, "\n")] = 0;
				printf("@@ptlab vmstat %s %s %s\n", phase, when, line);
			}
		}
		fclose(f);
	}
	fflush(stdout);
}

static const char *EVENTS[] = { "tlb/tlb_flush", "irq_vectors/call_function_entry", "irq_vectors/call_function_single_entry", "irq_vectors/reschedule_entry" };

static void trace_setup(void) {
	char path[256];
	if (access("/sys/kernel/tracing/trace", F_OK) != 0) {
		printf("@@ptlab trace none no-tracefs\n");
		return;
	}
	have_trace = 1;
	write_file("/sys/kernel/tracing/tracing_on", "0");
	write_file("/sys/kernel/tracing/buffer_size_kb", "4096");
	for (size_t i = 0; i < sizeof EVENTS / sizeof *EVENTS; i++) {
		snprintf(path, sizeof path, "%s/events/%s/enable", TRACEFS, EVENTS[i]);
		if (access(path, F_OK) == 0 && write_file(path, "1") == 0) printf("@@ptlab trace event %s\n", EVENTS[i]);
		else printf("@@ptlab trace missing %s\n", EVENTS[i]);
	}
	/* The function tracer on what a function-call IPI runs (smp_call_function*() callbacks), to tell
	 * apart the causes of the CAL line: shootdowns, the table-free sync, remote wakeups, idle load
	 * balancing kicks, text patching, expedited RCU, irq_work queued on another CPU (RT push). Functions the kernel lacks are refused one
	 * by one (written separately). */
	static const char *FUNCS[] = { "flush_tlb_func", "tlb_remove_table_smp_sync", "sched_ttwu_pending", "nohz_csd_func", "do_sync_core", "rcu_exp_handler", "irq_work_single", "rto_push_irq_work_func" };
	int nf = 0;
	for (size_t i = 0; i < sizeof FUNCS / sizeof *FUNCS; i++) {
		int fd = open("/sys/kernel/tracing/set_ftrace_filter", O_WRONLY | O_APPEND);
		if (fd < 0) break;
		if (write(fd, FUNCS[i], strlen(FUNCS[i])) > 0) { nf++; printf("@@ptlab trace function %s\n", FUNCS[i]); }
		close(fd);
	}
	if (nf > 0 && write_file("/sys/kernel/tracing/current_tracer", "function") != 0) printf("@@ptlab trace missing function-tracer\n");
	write_file("/sys/kernel/tracing/tracing_on", "0");
	fflush(stdout);
}

/* Events are enabled once, at start, with tracing off: enabling a tracepoint patches kernel text
 * (text_poke_bp() IPIs every CPU), which would count in the phase. A phase only clears the
 * buffer and switches recording on and off. */
static void trace_on(void) {
	if (!have_trace) return;
	write_file("/sys/kernel/tracing/trace", "");
	write_file("/sys/kernel/tracing/tracing_on", "1");
}

/* Count the events of the trace buffer per CPU and kind (tlb_flush also by its reason). */
#define MAX_KEYS 64
#define MAX_CPUS 64
static void trace_off_and_count(const char *phase) {
	if (!have_trace) return;
	write_file("/sys/kernel/tracing/tracing_on", "0");
	FILE *f = fopen("/sys/kernel/tracing/trace", "r");
	if (!f) return;
	char keys[MAX_KEYS][96];
	long counts[MAX_KEYS][MAX_CPUS];
	int nkeys = 0;
	memset(counts, 0, sizeof counts);
	char line[1024];
	long lost = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#') {
			char *e = strstr(line, "entries-in-buffer/entries-written:");
			if (e) {
				long a = 0, b = 0;
				if (sscanf(e, "entries-in-buffer/entries-written: %ld/%ld", &a, &b) == 2) lost = b - a;
			}
			continue;
		}
		char *br = strchr(line, '[');
		if (!br) continue;
		int cpu = atoi(br + 1);
		if (cpu < 0 || cpu >= MAX_CPUS) continue;
		/* "...: EVENT: fields" after the timestamp */
		char *ts = strstr(br, ": ");
		if (!ts) continue;
		char *ev = ts + 2;
		char key[96];
		char *arrow = strstr(ev, " <-");
		char *sp = strchr(ev, ' ');
		if (arrow && arrow == sp) {
			/* function tracer: "FUNC <-CALLER" */
			snprintf(key, sizeof key, "func/%.*s", (int)(arrow - ev) > 60 ? 60 : (int)(arrow - ev), ev);
			goto count;
		}
		char *colon = strchr(ev, ':');
		if (!colon) continue;
		int len = (int)(colon - ev);
		if (len > 40) len = 40;
		snprintf(key, sizeof key, "%.*s", len, ev);
		if (!strcmp(key, "tlb_flush")) {
			char *r = strstr(colon, "reason:");
			if (r) {
				char reason[48];
				int i = 0;
				r += 7;
				while (r[i] && r[i] != '(' && r[i] != '\n' && i < 47) { reason[i] = r[i] == ' ' ? '_' : r[i]; i++; }
				while (i > 0 && reason[i - 1] == '_') i--;
				reason[i] = 0;
				snprintf(key, sizeof key, "tlb_flush/%s", reason);
			}
		}
	count:;
		int k;
		for (k = 0; k < nkeys; k++) if (!strcmp(keys[k], key)) break;
		if (k == nkeys) {
			if (nkeys == MAX_KEYS) continue;
			snprintf(keys[nkeys++], sizeof keys[0], "%s", key);
		}
		counts[k][cpu]++;
	}
	fclose(f);
	int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (ncpu > MAX_CPUS) ncpu = MAX_CPUS;
	for (int k = 0; k < nkeys; k++) {
		printf("@@ptlab tracecount %s %s", phase, keys[k]);
		for (int c = 0; c < ncpu; c++) printf(" %ld", counts[k][c]);
		printf("\n");
	}
	printf("@@ptlab tracelost %s %ld\n", phase, lost);
	fflush(stdout);
}

/* ---- the operations ---- */

static char *region_at(unsigned long addr, unsigned long len, int flags) {
	char *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | flags, -1, 0);
	if (p == MAP_FAILED) die("mmap");
	return p;
}

/* mmap a PMD-aligned 2 MiB region, touch every 64th page (one PTE table, 8 pages), munmap it:
 * free_pgtables() frees the PTE table (and the PMD table if the region was alone in its PUD). */
static void op_munmap(int idx, long count) {
	unsigned long base = 0x100000000000UL + (unsigned long)idx * PUD_SIZE;
	for (long i = 0; i < count; i++) {
		char *p = region_at(base, PMD_SIZE, 0);
		for (unsigned long off = 0; off < PMD_SIZE; off += 64 * PAGE) p[off] = 1;
		if (munmap(p, PMD_SIZE) != 0) die("munmap");
	}
}

/* fork a child that moves to child_cpu (if >= 0), runs child() and exits; the parent waits. */
static void fork_child_and_wait(int child_cpu, void (*child)(void)) {
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		if (child_cpu >= 0) pin(child_cpu);
		child();
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0) die("waitpid");
}

static char *fork_heap;
static void write_fork_heap(void) {
	for (unsigned long off = 0; off < 8 * PAGE; off += PAGE) fork_heap[off] = 2;
}
/* fork a child that writes to 8 pages of the heap (COW faults) and exits; the parent waits. */
static void op_fork_exit(int idx, long count, int child_cpu) {
	(void)idx;
	for (long i = 0; i < count; i++) fork_child_and_wait(child_cpu, write_fork_heap);
}

/* GUP-fast: vmsplice() 16 pages of a buffer into a pipe (iov_iter_get_pages2() ->
 * get_user_pages_fast()), then drain the pipe. */
static void op_gup_fast(int idx, long count) {
	(void)idx;
	int pfd[2];
	if (pipe(pfd) != 0) die("pipe");
	fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
	size_t len = 16 * PAGE;
	char *buf = aligned_alloc(PAGE, len);
	char *sink = malloc(len);
	memset(buf, 3, len);
	for (long i = 0; i < count; i++) {
		struct iovec iov = { buf, len };
		ssize_t n = vmsplice(pfd[1], &iov, 1, 0);
		if (n < 0) die("vmsplice");
		size_t got = 0;
		while (got < (size_t)n) {
			ssize_t r = read(pfd[0], sink, len - got);
			if (r <= 0) die("read pipe");
			got += (size_t)r;
		}
	}
	close(pfd[0]);
	close(pfd[1]);
	free(buf);
	free(sink);
}

/* MADV_COLLAPSE of a 2 MiB region populated with small pages (THP "enabled" is set to never by
 * init, so the faults map 4 KiB pages); each round maps a fresh region. */
static void op_collapse(int idx, long count) {
	unsigned long base = 0x200000000000UL + (unsigned long)idx * PUD_SIZE;
	for (long i = 0; i < count; i++) {
		char *p = region_at(base, PMD_SIZE, 0);
		for (unsigned long off = 0; off < PMD_SIZE; off += PAGE) p[off] = 4;
		if (madvise(p, PMD_SIZE, MADV_COLLAPSE) != 0) {
			printf("@@ptlab warn collapse-failed %s\n", strerror(errno));
		}
		if (munmap(p, PMD_SIZE) != 0) die("munmap");
	}
}

/* A shared hugetlb mapping of a whole PUD (1 GiB, MAP_NORESERVE: only touched pages are
 * allocated) so that children share its PMD table at fork; each child touches a page and exits
 * (huge_pmd_unshare() at exit). */
static char *huge;
static void touch_huge(void) {
	huge[PMD_SIZE] = 6;
}
static void op_hugetlb_fork(int idx, long count, int child_cpu) {
	(void)idx;
	for (long i = 0; i < count; i++) fork_child_and_wait(child_cpu, touch_huge);
}

/* ---- threads ---- */

struct targ { struct phase *ph; int role; int idx; };

static int other_cpu(struct phase *ph, int mine) {
	/* fork_exit / hugetlb_fork: the child runs on the CPU after the op's (wrapping), unless it is
	 * the only CPU; a role spec can name it with CPU:child (see parse). */
	for (int i = 0; i < ph->nroles; i++) if (ph->roles[i].kind == ROLE_SLEEP && ph->roles[i].cpu < 0) return -ph->roles[i].cpu - 1;
	(void)mine;
	return -1;
}

static void run_op(struct phase *ph, int idx, int cpu) {
	if (!strcmp(ph->kind, "munmap")) op_munmap(idx, ph->count);
	else if (!strcmp(ph->kind, "fork_exit")) op_fork_exit(idx, ph->count, other_cpu(ph, cpu));
	else if (!strcmp(ph->kind, "gup_fast")) op_gup_fast(idx, ph->count);
	else if (!strcmp(ph->kind, "collapse")) op_collapse(idx, ph->count);
	else if (!strcmp(ph->kind, "hugetlb_fork")) op_hugetlb_fork(idx, ph->count, other_cpu(ph, cpu));
	else if (!strcmp(ph->kind, "baseline")) usleep((useconds_t)ph->count * 1000);
}

static void *thread_main(void *a) {
	struct targ *t = a;
	struct role *r = &t->ph->roles[t->role];
	pin(r->cpu);
	atomic_fetch_add(&ready, 1);
	if (r->kind == ROLE_SPIN) {
		volatile unsigned long x = 0;
		while (!atomic_load_explicit(&stop_spin, memory_order_relaxed)) x++;
	} else if (r->kind == ROLE_SLEEP) {
		pthread_mutex_lock(&sleep_mu);
		while (!sleep_done) pthread_cond_wait(&sleep_cv, &sleep_mu);
		pthread_mutex_unlock(&sleep_mu);
	} else {
		pthread_mutex_lock(&start_mu);
		while (!op_start) pthread_cond_wait(&start_cv, &start_mu);
		pthread_mutex_unlock(&start_mu);
		run_op(t->ph, t->idx, r->cpu);
	}
	return NULL;
}

static void phase_child(struct phase *ph) {
	pthread_t th[MAX_ROLES];
	struct targ args[MAX_ROLES];
	int n = 0, ops = 0;
	if (!strcmp(ph->kind, "fork_exit")) {
		fork_heap = region_at(0x300000000000UL, 64 * PAGE, 0);
		memset(fork_heap, 1, 64 * PAGE);
	}
	if (!strcmp(ph->kind, "hugetlb_fork")) {
		huge = mmap((void *)0x400000000000UL, PUD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (huge == MAP_FAILED) die("mmap hugetlb");
		huge[0] = 5;
		huge[PMD_SIZE] = 5;
	}
	for (int i = 0; i < ph->nroles; i++) {
		if (ph->roles[i].cpu < 0) continue; /* a child placement, not a thread */
		args[n] = (struct targ){ ph, i, ph->roles[i].kind == ROLE_OP ? ops++ : 0 };
		pthread_attr_t at;
		pthread_attr_init(&at);
		cpu_set_t s;
		CPU_ZERO(&s);
		CPU_SET(ph->roles[i].cpu, &s);
		pthread_attr_setaffinity_np(&at, sizeof s, &s);
		if (pthread_create(&th[n], &at, thread_main, &args[n]) != 0) die("pthread_create");
		pthread_attr_destroy(&at);
		n++;
	}
	while (atomic_load(&ready) < n) usleep(1000);
	usleep(50000); /* let the sleepers' CPUs go idle */
	trace_on();
	snapshot(ph->name, "before");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&start_mu);
	op_start = 1;
	pthread_cond_broadcast(&start_cv);
	pthread_mutex_unlock(&start_mu);
	for (int i = 0; i < n; i++) if (ph->roles[args[i].role].kind == ROLE_OP) pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snapshot(ph->name, "after");
	trace_off_and_count(ph->name);
	printf("@@ptlab elapsed %s %ld\n", ph->name, (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000));
	fflush(stdout);
	atomic_store(&stop_spin, 1);
	pthread_mutex_lock(&sleep_mu);
	sleep_done = 1;
	pthread_cond_broadcast(&sleep_cv);
	pthread_mutex_unlock(&sleep_mu);
	for (int i = 0; i < n; i++) if (ph->roles[args[i].role].kind != ROLE_OP) pthread_join(th[i], NULL);
	_exit(0);
}

static int parse(char *line, struct phase *ph) {
	char roles[1024];
	memset(ph, 0, sizeof *ph);
	if (sscanf(line, "%63s %31s %ld %1023s", ph->name, ph->kind, &ph->count, roles) != 4) return -1;
	char *save = NULL;
	for (char *tok = strtok_r(roles, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (ph->nroles == MAX_ROLES) return -1;
		char kind[16];
		int cpu;
		if (sscanf(tok, "%d:%15s", &cpu, kind) != 2) return -1;
		struct role *r = &ph->roles[ph->nroles++];
		r->cpu = cpu;
		if (!strcmp(kind, "op")) r->kind = ROLE_OP;
		else if (!strcmp(kind, "spin")) r->kind = ROLE_SPIN;
		else if (!strcmp(kind, "sleep")) r->kind = ROLE_SLEEP;
		else if (!strcmp(kind, "child")) { r->kind = ROLE_SLEEP; r->cpu = -cpu - 1; }
		else return -1;
	}
	return 0;
}

int main(int argc, char **argv) {
	const char *file = argc > 1 ? argv[1] : "/phases.txt";
	FILE *f = fopen(file, "r");
	if (!f) die(file);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("@@ptlab start cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	trace_setup();
	char line[2048];
	while (fgets(line, sizeof line, f)) {
		struct phase ph;
		if (line[0] == '#' || line[0] == '\n') continue;
		if (parse(line, &ph) != 0) {
			printf("@@ptlab error bad phase line: %s", line);
			return 3;
		}
		int first = -1;
		for (int i = 0; i < ph.nroles; i++) if (ph.roles[i].kind == ROLE_OP && ph.roles[i].cpu >= 0) { first = ph.roles[i].cpu; break; }
		if (first < 0) first = 0;
		pin(first);
		printf("@@ptlab phase %s %s %ld begin\n", ph.name, ph.kind, ph.count);
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) die("fork");
		if (pid == 0) phase_child(&ph);
		int st;
		waitpid(pid, &st, 0);
		printf("@@ptlab phase %s end status=%d\n", ph.name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		fflush(stdout);
	}
	printf("@@ptlab done\n");
	fflush(stdout);
	return 0;
}
