/* Phone number normalisation; see smsnum.h and docs/sms-numbers.md. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver.h"
#include "smsnum.h"

#define MAX_TYPED 64  /* bytes of typed input we look at */
#define MAX_DIGITS 24 /* more than any number with prefixes */
#define E164_MAX 15

/*
 * Dialling rules of the countries we know by name. Every other assigned
 * country code gets the ITU majority: international prefix 00, trunk
 * prefix 0, national numbers of any length that keeps E.164's 15 digits.
 */
struct country {
	int cc;
	const char *name;
	const char *idd[2];   /* international prefixes besides "00", longest first */
	const char *trunk;    /* national (trunk) prefix, "" when none */
	int nsn_min, nsn_max; /* digits after the country code */
	int short_max;        /* longest short code */
};

/* clang-format off */
static const struct country countries[] = {
	{1, "US/Canada", {"011", NULL}, "1", 10, 10, 6},
	{7, "Russia/Kazakhstan", {"810", NULL}, "8", 10, 10, 8},
	{20, "Egypt", {NULL, NULL}, "0", 8, 10, 8},
	{27, "South Africa", {NULL, NULL}, "0", 9, 9, 8},
	{30, "Greece", {NULL, NULL}, "", 10, 10, 8},
	{31, "the Netherlands", {NULL, NULL}, "0", 9, 9, 8},
	{32, "Belgium", {NULL, NULL}, "0", 8, 9, 8},
	{33, "France", {NULL, NULL}, "0", 9, 9, 8},
	{34, "Spain", {NULL, NULL}, "", 9, 9, 8},
	{36, "Hungary", {NULL, NULL}, "06", 8, 9, 8},
	{39, "Italy", {NULL, NULL}, "", 6, 11, 5},
	{40, "Romania", {NULL, NULL}, "0", 9, 9, 8},
	{41, "Switzerland", {NULL, NULL}, "0", 9, 9, 8},
	{43, "Austria", {NULL, NULL}, "0", 4, 13, 8},
	{44, "the United Kingdom", {NULL, NULL}, "0", 9, 10, 8},
	{45, "Denmark", {NULL, NULL}, "", 8, 8, 6},
	{46, "Sweden", {NULL, NULL}, "0", 7, 13, 8},
	{47, "Norway", {NULL, NULL}, "", 8, 8, 6},
	{48, "Poland", {NULL, NULL}, "", 9, 9, 8},
	{49, "Germany", {NULL, NULL}, "0", 6, 13, 8},
	{52, "Mexico", {NULL, NULL}, "", 10, 10, 8},
	{54, "Argentina", {NULL, NULL}, "0", 10, 11, 8},
	{55, "Brazil", {NULL, NULL}, "0", 10, 11, 8},
	{61, "Australia", {"0011", NULL}, "0", 9, 9, 8},
	{62, "Indonesia", {"001", "007"}, "0", 8, 12, 8},
	{63, "the Philippines", {NULL, NULL}, "0", 8, 10, 8},
	{64, "New Zealand", {NULL, NULL}, "0", 8, 10, 8},
	{65, "Singapore", {"000", NULL}, "", 8, 8, 6},
	{81, "Japan", {"010", NULL}, "0", 9, 10, 8},
	{82, "South Korea", {"001", "002"}, "0", 8, 10, 8},
	{86, "China", {NULL, NULL}, "0", 10, 11, 8},
	{90, "Turkey", {NULL, NULL}, "0", 10, 10, 8},
	{91, "India", {NULL, NULL}, "0", 10, 10, 8},
	{351, "Portugal", {NULL, NULL}, "", 9, 9, 8},
	{353, "Ireland", {NULL, NULL}, "0", 7, 9, 8},
	{358, "Finland", {NULL, NULL}, "0", 5, 12, 8},
	{380, "Ukraine", {NULL, NULL}, "0", 9, 9, 8},
	{420, "Czechia", {NULL, NULL}, "", 9, 9, 8},
	{972, "Israel", {NULL, NULL}, "0", 8, 9, 8},
};

/* Two-digit country codes (ITU-T E.164 list); 1 and 7 are the one-digit ones. */
static const int cc2[] = {
	20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
	55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
};

/* Spare (unassigned) three-digit codes within the three-digit zones. */
static const int cc3_spare[] = {
	210, 214, 215, 217, 219, 259, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289,
	292, 293, 294, 295, 296, 384, 388, 422, 424, 425, 426, 427, 428, 429, 671, 693,
	694, 695, 696, 697, 698, 699, 801, 802, 803, 804, 805, 806, 807, 809, 830, 831,
	832, 833, 834, 835, 836, 837, 838, 839, 851, 854, 857, 858, 859, 871, 872, 873,
	874, 875, 876, 877, 879, 884, 885, 887, 889, 890, 891, 892, 893, 894, 895, 896,
	897, 898, 899, 969, 978, 990, 991, 997, 999,
};
/* clang-format on */

static const struct country *
country_find(int cc)
{
	size_t i;

	for (i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		if (countries[i].cc == cc)
			return &countries[i];
	return NULL;
}

/* The rules for cc, from the table or the ITU majority. */
static struct country
country_rules(int cc, int cclen)
{
	const struct country *c = country_find(cc);
	struct country g = {cc, NULL, {NULL, NULL}, "0", 4, E164_MAX - cclen, 8};

	return c ? *c : g;
}

bool
smsnum_country_code(const char *d, int *cclen)
{
	int v;
	size_t i;

	if (!isdigit((unsigned char)d[0]) || d[0] == '0')
		return false;
	if (d[0] == '1' || d[0] == '7') {
		*cclen = 1;
		return true;
	}
	if (!isdigit((unsigned char)d[1]))
		return false;
	v = (d[0] - '0') * 10 + (d[1] - '0');
	for (i = 0; i < sizeof(cc2) / sizeof(cc2[0]); i++)
		if (cc2[i] == v) {
			*cclen = 2;
			return true;
		}
	/* Zones 3, 4, 5, 6, 8 and 9 mix two- and three-digit codes; the rest is three-digit. */
	if (!isdigit((unsigned char)d[2]))
		return false;
	v = v * 10 + (d[2] - '0');
	for (i = 0; i < sizeof(cc3_spare) / sizeof(cc3_spare[0]); i++)
		if (cc3_spare[i] == v)
			return false;
	*cclen = 3;
	return true;
}

int
smsnum_country(const char *def, char **why)
{
	const char *p = def;
	int cclen, cc = 0, i;

	if (def == NULL || *def == '\0') {
		*why = xstrdup("default_country is empty: give a calling code such as +1 or +44");
		return -1;
	}
	if (*p == '+')
		p++;
	for (i = 0; p[i]; i++)
		if (!isdigit((unsigned char)p[i]) || i >= 3)
			goto bad;
	if (!smsnum_country_code(p, &cclen) || cclen != i)
		goto bad;
	for (i = 0; i < cclen; i++)
		cc = cc * 10 + (p[i] - '0');
	return cc;
bad:
	*why = xasprintf(
	        "default_country \"%.16s\" is not a country calling code such as +1 or +44", def);
	return -1;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return prefix && *prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Digits after '+' (or an international prefix): country code and national number. */
static int
international(const char *d, bool drop_paren0, size_t paren0_at, char **out, char **why)
{
	char buf[MAX_DIGITS + 1];
	struct country c;
	const char *nsn;
	int cclen, cc = 0, i;
	size_t n;

	/* "+44 (0)20 ..." writes the trunk prefix that is not dialled from abroad. */
	if (drop_paren0) {
		n = strlen(d);
		memcpy(buf, d, paren0_at);
		memcpy(buf + paren0_at, d + paren0_at + 1, n - paren0_at);
		d = buf;
	}
	if (*d == '\0') {
		*why = xstrdup("a country code and a number must follow the international prefix");
		return -1;
	}
	if (!smsnum_country_code(d, &cclen)) {
		*why = xasprintf("+%.3s is not a country code", d);
		return -1;
	}
	for (i = 0; i < cclen; i++)
		cc = cc * 10 + (d[i] - '0');
	c = country_rules(cc, cclen);
	nsn = d + cclen;
	/* Written after the country code, UK-style trunk 0s are never dialled. */
	if (c.name && strcmp(c.trunk, "0") == 0 && nsn[0] == '0') {
		nsn++;
		if (nsn[0] == '0') {
			*why = xasprintf(
			        "numbers in %s (+%d) do not start with 0 after the country "
			        "code",
			        c.name, cc);
			return -1;
		}
	}
	n = strlen(nsn);
	if (cclen + n > E164_MAX) {
		*why = xasprintf("+%s has %zu digits: international numbers have at most 15", d,
		                 cclen + strlen(d + cclen));
		return -1;
	}
	if ((int)n < c.nsn_min || (int)n > c.nsn_max) {
		if (c.name && c.nsn_min == c.nsn_max)
			*why = xasprintf(
			        "numbers in %s (+%d) have %d digits after the country code", c.name,
			        cc, c.nsn_min);
		else if (c.name)
			*why = xasprintf(
			        "numbers in %s (+%d) have %d to %d digits after the country "
			        "code",
			        c.name, cc, c.nsn_min, c.nsn_max);
		else
			*why = xasprintf("+%d needs at least %d digits after the country code", cc,
			                 c.nsn_min);
		return -1;
	}
	if (cc == 1 && (nsn[0] == '0' || nsn[0] == '1')) {
		*why = xstrdup("US/Canadian area codes do not start with 0 or 1");
		return -1;
	}
	*out = xasprintf("+%d%s", cc, nsn);
	return 0;
}

static int
national(const char *d, const struct country *c, char **out, char **why)
{
	size_t n = strlen(d), tl = strlen(c->trunk);
	bool trunk = tl && has_prefix(d, c->trunk);
	char *intl;
	int rc;

	if (trunk && (int)(n - tl) >= c->nsn_min && (int)(n - tl) <= c->nsn_max) {
		intl = xasprintf("%d%s", c->cc, d + tl);
		rc = international(intl, false, 0, out, why);
		free(intl);
		return rc;
	}
	if (d[0] != '0' && n >= 3 && (int)n <= c->short_max) {
		*out = xstrdup(d);
		return 0;
	}
	if (!trunk && (int)n >= c->nsn_min && (int)n <= c->nsn_max) {
		intl = xasprintf("%d%s", c->cc, d);
		rc = international(intl, false, 0, out, why);
		free(intl);
		return rc;
	}
	if (n < 3)
		*why = xstrdup("too short for a phone number or a short code");
	else if (c->name && trunk)
		*why = c->nsn_min == c->nsn_max
		               ? xasprintf(
		                         "numbers in %s have %d digits after the leading %s (start "
		                         "international numbers with +)",
		                         c->name, c->nsn_min, c->trunk)
		               : xasprintf(
		                         "numbers in %s have %d to %d digits after the leading %s "
		                         "(start international numbers with +)",
		                         c->name, c->nsn_min, c->nsn_max, c->trunk);
	else if (c->name && c->nsn_min == c->nsn_max)
		*why = xasprintf(
		        "numbers in %s have %d digits (start international numbers with +)",
		        c->name, c->nsn_min);
	else
		*why = xasprintf("%zu digits is neither a short code nor a number of +%d (start "
		                 "international numbers with +)",
		                 n, c->cc);
	return -1;
}

int
smsnum_normalize(const char *typed, const char *default_country, char **out, char **why)
{
	char d[MAX_DIGITS + 1];
	const unsigned char *p = (const unsigned char *)typed;
	size_t nd = 0, paren0_at = 0, tlen;
	bool plus = false, paren0 = false;
	struct country c;
	int cc, cclen, i;

	*out = NULL;
	*why = NULL;
	if ((cc = smsnum_country(default_country, why)) == -1)
		return -1;
	cclen = cc >= 100 ? 3 : cc >= 10 ? 2 : 1;
	c = country_rules(cc, cclen);

	while (isspace(*p))
		p++;
	if (strncasecmp((const char *)p, "tel:", 4) == 0)
		p += 4;
	tlen = strlen((const char *)p);
	while (tlen && isspace(p[tlen - 1]))
		tlen--;
	if (tlen == 0) {
		*why = xstrdup("no number given");
		return -1;
	}
	if (tlen > MAX_TYPED) {
		*why = xstrdup("too long for a phone number");
		return -1;
	}
	for (i = 0; (size_t)i < tlen; i++) {
		unsigned char ch = p[i];

		if (isdigit(ch) ||
		    (ch == '(' && (size_t)i + 2 < tlen && p[i + 1] == '0' && p[i + 2] == ')')) {
			if (nd == MAX_DIGITS) {
				*why = xstrdup("too many digits for a phone number");
				return -1;
			}
			if (ch == '(') {
				/* "(0)": a trunk prefix, dialled at home only */
				if (!paren0) {
					paren0 = true;
					paren0_at = nd;
				}
				ch = '0';
				i += 2;
			}
			d[nd++] = (char)ch;
		} else if (ch == '+') {
			if (nd || plus) {
				*why = xstrdup("'+' may only start a number");
				return -1;
			}
			plus = true;
		} else if (ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')' ||
		           ch == '/' || ch == '\t') {
			continue;
		} else if (ch == 0xC2 && (size_t)i + 1 < tlen && p[i + 1] == 0xA0) {
			i++; /* no-break space, as some clients paste it */
		} else if (ch == '*' || ch == '#') {
			*why = xstrdup("service codes with * or # cannot be texted");
			return -1;
		} else if (nd &&
		           (tolower(ch) == 'x' || strncasecmp((const char *)p + i, "ext", 3) == 0 ||
		            strncasecmp((const char *)p + i, ";ext=", 5) == 0)) {
			*why = xstrdup("an extension cannot receive SMS: give the number only");
			return -1;
		} else if (isalpha(ch)) {
			*why = xstrdup(
			        "letters are not part of a phone number: give digits, with + "
			        "and the country code for a foreign number");
			return -1;
		} else if (ch == '@') {
			*why = xstrdup("give a phone number, not an address with @");
			return -1;
		} else {
			*why = isprint(ch) ? xasprintf("'%c' is not part of a phone number", ch)
			                   : xstrdup("unexpected characters in the phone number");
			return -1;
		}
	}
	d[nd] = '\0';
	if (nd == 0) {
		*why = xstrdup("no digits in the number");
		return -1;
	}
	if (plus)
		return international(d, paren0, paren0_at, out, why);
	/* The country's own international prefixes, then the ITU's 00. */
	for (i = 0; i < 2; i++)
		if (has_prefix(d, c.idd[i]))
			return international(d + strlen(c.idd[i]),
			                     paren0 && paren0_at >= strlen(c.idd[i]),
			                     paren0_at - strlen(c.idd[i]), out, why);
	if (has_prefix(d, "00"))
		return international(d + 2, paren0 && paren0_at >= 2, paren0_at - 2, out, why);
	return national(d, &c, out, why);
}

char *
smsnum_sender(const char *raw, const char *default_country)
{
	char *out, *why, *p;
	size_t i, o = 0;
	bool letters = false;

	if (raw == NULL)
		return NULL;
	if (smsnum_normalize(raw, default_country, &out, &why) == 0)
		return out;
	free(why);
	for (i = 0; raw[i]; i++)
		if (isalpha((unsigned char)raw[i]))
			letters = true;
	p = xmalloc(strlen(raw) + 1);
	/* Keep what the network showed, minus what cannot be part of an address. */
	for (i = 0; raw[i] && o < 32; i++) {
		unsigned char ch = (unsigned char)raw[i];

		if (isalnum(ch) ||
		    (letters && (ch == ' ' || ch == '-' || ch == '.' || ch == '_')) ||
		    (!letters && ch == '+' && o == 0))
			p[o++] = (char)ch;
	}
	while (o && p[o - 1] == ' ')
		o--;
	p[o] = '\0';
	if (o == 0 || (o == 1 && p[0] == '+')) {
		free(p);
		return NULL;
	}
	return p;
}

enum smsnum_kind
smsnum_kind(const char *a)
{
	size_t i, n = strlen(a);
	bool digits = n > 0, alnum = n > 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)a[i]) && !(i == 0 && a[0] == '+'))
			digits = false;
		if (!isalnum((unsigned char)a[i]) && !strchr(" -._", a[i]))
			alnum = false;
	}
	if (digits && a[0] == '+' && n >= 6 && n <= E164_MAX + 1)
		return SMSNUM_E164;
	if (digits && a[0] != '+' && a[0] != '0' && n >= 3 && n <= 8)
		return SMSNUM_SHORT;
	if (alnum && !digits)
		return SMSNUM_ALPHA;
	return SMSNUM_INVALID;
}
