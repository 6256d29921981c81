/*
 * libFuzzer target: the incoming-mail path (GMime parse, text extraction,
 * HTML to text, quote trimming, bounces, attachments). Properties: never
 * crash; the text is valid UTF-8 within MAIL_MAX_TEXT with no control
 * character but \n and \t; header values hold no line break.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "driver.h"
#include "mailparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_line(const char *s)
{
	if (s && (strchr(s, '\n') || strchr(s, '\r')))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct mail_parse_opts opts = {.max_size = 1 << 20,
	                               .trim_quotes = size % 2 == 0,
	                               .keep_attachments = size % 3 == 0};
	struct mail_in m;
	char *why = NULL;

	if (!init) {
		g_mime_init();
		init = true;
	}
	if (mail_parse((const char *)data, size, &opts, &m, &why) == 0) {
		size_t n = strlen(m.text);

		if (n > MAIL_MAX_TEXT)
			abort();
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)m.text[i];

			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				abort();
		}
		if (!g_utf8_validate(m.text, (gssize)n, NULL))
			abort();
		one_line(m.subject);
		one_line(m.message_id);
		one_line(m.thread);
		for (size_t i = 0; i < m.natt; i++)
			one_line(m.att[i].filename);
		if (m.is_bounce && m.bounce_reason == NULL)
			abort();
	} else if (why == NULL)
		abort();
	mail_in_free(&m);
	free(why);
	{
		char *t = mail_html_to_text((const char *)data, size);

		free(t);
	}
	return 0;
}
