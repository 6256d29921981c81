/* A line driven by libgammu in a worker thread of ours (see smsline.h). */
#include "config.h"

#include "driver.h"
#include "smsline.h"

static int
smsgl_start(struct smsl_line *l, char **why)
{
	(void)l;
	*why = xstrdup("driver = gammu is not available in this build yet; use driver = smsd");
	return -1;
}

const struct smsl_ops smsgl_ops = {
	.name = "gammu",
	.start = smsgl_start,
};
