/* The least any program can do for the benchmark's eight checks: the same
 * system work as healthcheck's run (stat the heartbeat, read the log's tail
 * and what was appended since the last run, scan /proc for the bot, statfs,
 * meminfo, the CPU counters and load, SQLite's newest row, the log offset
 * saved by a rename beside the log) with nothing else: no config, no regex, no lock, no
 * history, no report, no threads, no timeouts. benches/run builds it static
 * and times it beside the others, so a ratio target can be read against
 * what this machine allows in that run: a ratio the floor itself does not
 * reach is out of reach for any program doing these checks.
 * Usage: floor DIR LOG     (exit 0 OK, 2 when a check fails) */
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

/* One read of a small file into buf; the bytes read, or -1. */
static long slurp(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return n;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: floor DIR LOG\n");
    return 3;
  }
  const char *dir = argv[1], *log = argv[2];
  char path[4096], saved[4096];
  int failed = 0;
  time_t now = time(NULL);
  struct stat st;

  snprintf(path, sizeof path, "%s/heartbeat", dir);
  if (stat(path, &st) != 0 || now - st.st_mtime > 600) failed = 1;

  /* The last 100 lines hold an update (they fit in the last 64 KiB). */
  int fd = open(log, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0) return 3;
  off_t size = st.st_size;
  long n = pread(fd, buf, sizeof buf - 1, size > 65535 ? size - 65535 : 0);
  buf[n > 0 ? n : 0] = 0;
  long from = n > 0 ? n : 0;
  for (int lines = 0; from > 0 && lines <= 100;)
    if (buf[--from] == '\n') lines++;
  if (!strstr(buf + from, "VIX") && !strstr(buf + from, "Position") && !strstr(buf + from, "Update"))
    failed = 1;

  /* Errors appended since the offset the last run saved. */
  snprintf(saved, sizeof saved, "%s.floor-offset", log);
  long long offset = size;
  FILE *f = fopen(saved, "r");
  if (f) {
    if (fscanf(f, "%lld", &offset) != 1) offset = size;
    fclose(f);
  }
  if (offset > size) offset = 0;
  long errors = 0;
  for (long got; offset < size && (got = pread(fd, buf, sizeof buf - 1, offset)) > 0; offset += got) {
    buf[got] = 0;
    for (char *at = buf; (at = strstr(at, "ERROR")); at++) errors++;
  }
  close(fd);
  if (errors > 200) failed = 1;

  /* The bot by its command line; a kernel thread has none, and its name. */
  DIR *proc = opendir("/proc");
  int bots = 0;
  for (struct dirent *e; proc && (e = readdir(proc));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    if (slurp(path) > 0) {
      if (strncmp(buf, "bench-bot", 9) == 0) bots++;
    } else {
      snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
      slurp(path);
    }
  }
  if (proc) closedir(proc);
  if (bots == 0) failed = 1;

  struct statvfs fs;
  if (statvfs("/", &fs) != 0 || fs.f_bavail < fs.f_blocks / 10) failed = 1;
  slurp("/proc/meminfo");
  slurp("/proc/stat");
  slurp("/proc/loadavg");

  sqlite3 *db;
  sqlite3_stmt *newest;
  snprintf(path, sizeof path, "%s/ticks.db", dir);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT max(ts) FROM ticks", -1, &newest, NULL) != SQLITE_OK)
    return 3;
  if (sqlite3_step(newest) != SQLITE_ROW || now - sqlite3_column_int64(newest, 0) > 900) failed = 1;
  sqlite3_finalize(newest);
  sqlite3_close(db);

  snprintf(path, sizeof path, "%s.tmp", saved);
  f = fopen(path, "w");
  if (!f || fprintf(f, "%lld\n", (long long)size) < 0 || fclose(f) != 0 || rename(path, saved) != 0)
    return 3;
  puts(failed ? "CRITICAL" : "OK");
  return failed ? 2 : 0;
}
