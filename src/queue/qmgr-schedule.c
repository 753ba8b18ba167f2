/* SPDX-License-Identifier: ISC */
/*
 * qmgr-schedule.c - the retry schedule: waits between attempts after a
 * temporary failure (queue.retry-schedule), the last one repeating until
 * queue.max-lifetime. A little jitter keeps the retries of a burst of
 * deferred messages from hitting the peer in the same second again.
 */
#include "lib/lib.h"
#include "lib/str.h"
#include "lib/time.h"
#include "queue/qmgr-private.h"

#include <string.h>

int qmgr_schedule_parse(const char *text, int64_t *waits, size_t max, size_t *count_r)
{
	char item[32];
	size_t n = 0;
	const char *p = text;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		int64_t secs;

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 0 || len >= sizeof(item) || n == max)
			return -1;
		memcpy(item, p, len);
		item[len] = '\0';
		if (time_parse_duration(item, &secs) < 0 || secs < 1 || secs > 30 * 86400)
			return -1;
		waits[n++] = secs;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (n == 0)
		return -1;
	*count_r = n;
	return 0;
}

int64_t qmgr_schedule_next(const int64_t *waits, size_t count, int64_t attempts, int64_t now,
			   uint32_t jitter)
{
	size_t i = attempts < 1 ? 0 : (size_t)(attempts - 1);
	int64_t wait;

	if (i >= count)
		i = count - 1;
	wait = waits[i];
	/* up to a tenth more, never less: the admin's minimum holds */
	if (wait >= 10)
		wait += (int64_t)(jitter % (uint32_t)(wait / 10 + 1));
	return now + wait;
}
