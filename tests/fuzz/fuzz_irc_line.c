/*
 * libFuzzer target: the IRC line parser. Whatever it accepts must hold
 * together, and a parsed command must format back into one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ircmsg m, m2;
	struct ircmsg_isupport is;
	struct ircmsg_out o = {0};
	char *line;
	size_t i, n;

	if (ircmsg_parse(&m, (const char *)data, size, 0) != IRCMSG_OK)
		return 0;
	if (m.command == NULL || m.nparams > IRCMSG_MAX_PARAMS)
		abort();
	for (i = 0; i < m.nparams; i++)
		if (strpbrk(m.params[i], "\r\n") != NULL)
			abort();
	for (i = 0; i < m.ntags; i++)
		(void)strlen(m.tags[i].key), (void)strlen(m.tags[i].value);
	if (m.numeric == 5) {
		ircmsg_isupport_init(&is);
		(void)ircmsg_isupport_apply(&is, &m);
		(void)ircmsg_isupport_prefix_mode(&is, '@');
		(void)ircmsg_isupport_mode_type(&is, 'o');
	}
	if (m.nick != NULL)
		(void)ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, m.source, m.nick);

	/* Re-format (without tags): one line, and it parses the same way. */
	o.command = m.command;
	o.params = m.params;
	o.nparams = m.nparams;
	o.flags = IRCMSG_STRIP_CRLF;
	if (ircmsg_format(&o, &line, &n) == IRCMSG_OK) {
		if (n < 2 || line[n - 2] != '\r' || line[n - 1] != '\n' ||
		    strpbrk(line, "\r\n") != line + n - 2)
			abort();
		if (ircmsg_parse(&m2, line, n, 0) != IRCMSG_OK)
			abort();
		if (m2.nparams != m.nparams || strcmp(m2.command, m.command) != 0)
			abort();
		for (i = 0; i < m.nparams; i++)
			if (strcmp(m2.params[i], m.params[i]) != 0)
				abort();
		ircmsg_clear(&m2);
		free(line);
	}
	ircmsg_clear(&m);
	return 0;
}
