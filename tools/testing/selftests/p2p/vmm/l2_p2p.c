// SPDX-License-Identifier: GPL-2.0
/*
 * Runs inside the nested guest (L2) that an unmodified QEMU starts with an
 * edu and an ivshmem device passed through from L1 with vfio-pci and
 * iommufd.  It drives edu DMA into the guest physical address of ivshmem's
 * BAR2: a P2P write between two assigned devices, which only lands when L1's
 * QEMU mapped the BAR into the IOAS (the dma-buf path).
 *
 *   l2_p2p write OFF TEXT    edu writes TEXT at BAR2 + OFF; prints TAP
 *   l2_p2p toggle            clear and set memory decode of ivshmem
 *   l2_p2p reset             reset ivshmem through sysfs, if it can be
 *
 * Each prints one TAP result numbered $P2P_N.  "write" checks against the
 * expectation in $P2P_EXPECT ("land", the default, or "miss" for an L1
 * kernel without dma-buf support), and prints a P2P-HOST-EXPECT line for
 * the L0 host when the bytes landed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_BUF		0x40000
#define PCI_COMMAND	0x04
#define CMD_MEM		0x2
#define CMD_MASTER	0x4
#define SENTINEL	0xa5

static char edu[300], shm[300];
static const char *tapn = "1";

static int find(unsigned int vendor, unsigned int device, char *out)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	unsigned int v, dv;
	char path[300];
	FILE *f;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 e->d_name);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%x", &v) != 1)
			v = 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 e->d_name);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%x", &dv) != 1)
			dv = 0;
		if (f)
			fclose(f);
		if (v == vendor && dv == device) {
			snprintf(out, 300, "/sys/bus/pci/devices/%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

static int cmd_bits(const char *dev, uint16_t set, uint16_t clear)
{
	char path[320];
	uint16_t cmd;
	int fd, ret = -1;

	snprintf(path, sizeof(path), "%s/config", dev);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	if (pread(fd, &cmd, 2, PCI_COMMAND) == 2) {
		cmd = (cmd | set) & ~clear;
		if (pwrite(fd, &cmd, 2, PCI_COMMAND) == 2)
			ret = 0;
	}
	close(fd);
	return ret;
}

static void *map_res(const char *dev, int bar, size_t *size)
{
	char path[320];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%d", dev, bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	*size = lseek(fd, 0, SEEK_END);
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static uint64_t bar_addr(const char *dev, int bar)
{
	unsigned long long start = 0, end, flags;
	char path[320];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/resource", dev);
	f = fopen(path, "r");
	if (!f)
		return 0;
	for (i = 0; i <= bar; i++)
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			start = 0;
	fclose(f);
	return start;
}

/* Guest physical address of a locked page of ours */
static uint64_t virt_to_phys(void *p)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, 8, ((uintptr_t)p / 4096) * 8) != 8)
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * 4096 + ((uintptr_t)p & 4095);
}

/* MMIO accessors: relaxed atomics are never merged or elided */
static void wr64(uint64_t *regs, unsigned int off, uint64_t val)
{
	__atomic_store_n(&regs[off / 8], val, __ATOMIC_RELAXED);
}

static uint64_t rd64(uint64_t *regs, unsigned int off)
{
	return __atomic_load_n(&regs[off / 8], __ATOMIC_RELAXED);
}

static int edu_dma(uint64_t *regs, uint64_t src, uint64_t dst, uint64_t len,
		   uint64_t cmd)
{
	struct timespec ts = { 0, 5000000 };
	int i;

	wr64(regs, EDU_DMA_SRC, src);
	wr64(regs, EDU_DMA_DST, dst);
	wr64(regs, EDU_DMA_CNT, len);
	wr64(regs, EDU_DMA_CMD, cmd);
	for (i = 0; i < 4000; i++) {
		if (!(rd64(regs, EDU_DMA_CMD) & 1))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int do_write(unsigned long off, const char *text)
{
	const char *expect = getenv("P2P_EXPECT");
	bool want = !expect || strcmp(expect, "miss");
	size_t len = strlen(text) + 1, esz, ssz, i;
	uint8_t *bar;
	uint64_t *regs, phys, gpa;
	uint8_t *buf;
	bool landed;

	if (cmd_bits(edu, CMD_MEM | CMD_MASTER, 0) || cmd_bits(shm, CMD_MEM, 0))
		return printf("not ok %s - %s: config space\n", tapn, text), 1;
	regs = map_res(edu, 0, &esz);
	bar = map_res(shm, 2, &ssz);
	gpa = bar_addr(shm, 2);
	buf = aligned_alloc(4096, 4096);
	if (!regs || !bar || !gpa || !buf || off + len > ssz)
		return printf("not ok %s - %s: devices\n", tapn, text), 1;
	memset(buf, 0, 4096);
	memcpy(buf, text, len);
	mlock(buf, 4096);
	phys = virt_to_phys(buf);
	if (!phys)
		return printf("not ok %s - %s: pagemap\n", tapn, text), 1;
	for (i = 0; i < len; i++)
		__atomic_store_n(&bar[off + i], SENTINEL, __ATOMIC_RELAXED);

	/* RAM -> edu buffer, then edu buffer -> ivshmem BAR2 (P2P) */
	if (edu_dma(regs, phys, EDU_BUF, len, 1) ||
	    edu_dma(regs, EDU_BUF, gpa + off, len, 1 | 2))
		return printf("not ok %s - %s: edu DMA timed out\n", tapn, text), 1;
	landed = true;
	for (i = 0; i < len; i++)
		if (__atomic_load_n(&bar[off + i], __ATOMIC_RELAXED) !=
		    (uint8_t)text[i])
			landed = false;
	printf("# '%s' to BAR2 %#llx + %#lx: %s\n", text,
	       (unsigned long long)gpa, off, landed ? "landed" : "did not land");
	if (landed) {
		printf("P2P-HOST-EXPECT rp %lx ", off);
		for (i = 0; i < len; i++)
			printf("%02x", (uint8_t)text[i]);
		printf(" L2 %s\n", text);
	}
	printf("%s %s - L2 P2P write '%s' %s\n",
	       landed == want ? "ok" : "not ok", tapn, text,
	       want ? "lands" : "does not land");
	return landed == want ? 0 : 1;
}

int main(int argc, char **argv)
{
	char path[320];
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (getenv("P2P_N"))
		tapn = getenv("P2P_N");
	if (find(EDU_VENDOR, EDU_DEVICE, edu) ||
	    find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, shm)) {
		printf("not ok %s - L2 has edu and ivshmem\n", tapn);
		return 1;
	}
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(strtoul(argv[2], NULL, 0), argv[3]);
	if (argc == 2 && !strcmp(argv[1], "toggle")) {
		int ret = cmd_bits(shm, 0, CMD_MEM) || cmd_bits(shm, CMD_MEM, 0);

		printf("%s %s - L2 toggles ivshmem memory decode\n",
		       ret ? "not ok" : "ok", tapn);
		return ret;
	}
	if (argc == 2 && !strcmp(argv[1], "reset")) {
		snprintf(path, sizeof(path), "%s/reset", shm);
		fd = open(path, O_WRONLY);
		if (fd < 0) {
			printf("ok %s - L2 resets ivshmem # SKIP no reset method in L2\n",
			       tapn);
			return 0;
		}
		if (write(fd, "1", 1) != 1) {
			printf("not ok %s - L2 resets ivshmem: %s\n", tapn,
			       strerror(errno));
			close(fd);
			return 1;
		}
		close(fd);
		printf("ok %s - L2 resets ivshmem\n", tapn);
		return 0;
	}
	fprintf(stderr, "usage: l2_p2p write OFF TEXT | toggle | reset\n");
	return 2;
}
