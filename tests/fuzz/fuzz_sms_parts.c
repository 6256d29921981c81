/*
 * libFuzzer target: reassembly of concatenated SMS from hostile headers.
 * Input: records of (sender, reference, total, sequence, time step, length,
 * UTF-16BE text). Properties: never crash or leak; every message that comes
 * out is valid UTF-8; memory stays bounded (pending groups <= the cap).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsparts.h"
#include "smstext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drain(struct smsparts *p)
{
	struct smsparts_msg *m;

	while ((m = smsparts_next(p)) != NULL) {
		if (!smstext_utf8_valid(m->text, strlen(m->text)) || m->missing > m->total)
			abort();
		smsparts_msg_free(m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *senders[] = {"+15551234567", "+442079460958", "12345", "Google"};
	struct smsparts *p = smsparts_new(4, 30);
	time_t now = 0;
	size_t i = 0;

	while (i + 7 <= size) {
		struct smsparts_in in = {0};
		size_t n = data[i + 6] % 200;

		in.line = data[i] & 0x80 ? "shop" : "office";
		in.sender = senders[data[i] & 3];
		in.ref16 = data[i] & 0x40;
		in.ref = data[i + 1];
		in.total = data[i + 2] % 8;
		in.seq = data[i + 3] % 9;
		now += data[i + 4] % 16;
		in.stamp = data[i + 5];
		in.token = i;
		i += 7;
		if (2 * n > size - i)
			n = (size - i) / 2;
		in.text = data + i;
		in.nunits = n;
		i += 2 * n;
		smsparts_add(p, &in, now);
		if (smsparts_pending(p) > 4)
			abort();
		if (data[i - 2 * n - 3] & 1)
			smsparts_expire(p, now);
		drain(p);
	}
	smsparts_expire(p, now + 3600);
	drain(p);
	if (smsparts_pending(p) != 0)
		abort();
	smsparts_free(p);
	return 0;
}
