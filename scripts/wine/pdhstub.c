/*
 * A stand-in pdh.dll for running drain's PDH code under Wine (whose own
 * pdh.dll knows two counters). It serves counters from the text file named by
 * the environment variable PDHSTUB_FILE, read again on every call, so a test
 * changes values by rewriting the file. One counter per line:
 *
 *   \W3SVC_W3WP(1234_MyPool)\Active Requests 3
 *   \\web2\ASP.NET State Service\State Server Sessions Active 7
 *   \Processor(_Total)\% Processor Time 12.5 rate   (valid from the 2nd collect)
 *   \W3SVC_W3WP(9999_Shop)\Active Requests 1 late  (see below)
 *   \W3SVC_W3WP(*)\Active Requests -                (exists, no instance but _Total)
 *   \Broken\Counter NO_OBJECT                       (or NO_COUNTER)
 *
 * A machine named "unreachable" plays a remote host that does not answer:
 * adding or collecting its counters blocks for PDHSTUB_HANG_MS (default
 * 60000) ms, then fails with PDH_CSTATUS_NO_MACHINE, as a real remote read
 * can block for tens of seconds (NSClient++ issue 1378: 22 s).
 *
 * As on real Windows, an object with instances that has none at the moment
 * ("-") still publishes its _Total instance (value 0) to a wildcard read:
 * W3SVC_W3WP does so with no worker process running.
 *
 * "late" plays what changes while a caller sizes its buffer. An instance
 * marked late is missing from the first PdhGetFormattedCounterArrayW call
 * after a collect (the sizing call) and present from the next one on, as an
 * instance appearing mid-read during an overlapped recycle; the size that
 * call then returns with PDH_MORE_DATA is not to be relied on (the docs say
 * so), and the stand-in leaves it unchanged. An object marked late appears
 * one per PdhEnumObjectsW call with bRefresh TRUE (each refresh rebuilds
 * the list, which may have grown).
 *
 * A localized Windows: PDHSTUB_LOCAL names a file of "English<TAB>local"
 * lines. PdhEnumObjectsW and PdhEnumObjectItemsW then answer (and take) the
 * local names, as a German Windows answers "Prozessor"; counter paths are
 * still English only, as PdhAddEnglishCounterW wants them.
 *
 * Manifest-based (V2) providers: PDHSTUB_V2 names a file of English object
 * names, one a line, that are counter sets of a manifest-based provider
 * (HTTP Service Request Queues is one: HTTP.sys registers it through the
 * kernel-mode Performance Counter Library). Their names live in the
 * provider's resources, not in the Perflib Counter lists, so only the
 * consumer functions PerfEnumerateCounterSet and
 * PerfQueryCounterSetRegistrationInfo (advapi32.dll on Windows 10 1607 /
 * Server 2016 and later; Wine has neither, so the stand-in exports them and
 * the tests call them here) tell their English names: a counter set's name
 * in the local language (PERF_REG_COUNTERSET_NAME_STRING), in English
 * (PERF_REG_COUNTERSET_ENGLISH_NAME), and its counters' names in both as a
 * PERF_STRING_BUFFER_HEADER block (PERF_REG_COUNTER_NAME_STRINGS,
 * PERF_REG_COUNTER_ENGLISH_NAMES), sized as the documentation says: a
 * buffer too small (or none) gets ERROR_NOT_ENOUGH_MEMORY and the size.
 *
 * It implements, with the documented ABI and status codes, only what drain
 * calls: a missing instance of a known counter is PDH_CSTATUS_NO_INSTANCE, an
 * unknown object or counter PDH_CSTATUS_NO_OBJECT / _NO_COUNTER, "(*)" reads
 * every instance, and PdhCollectQueryData answers PDH_NO_DATA when no counter
 * of the query has data.
 */
#include <windows.h>
#include <pdh.h>
#include <pdhmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#define NAMELEN 128
#define MAXLINES 512
#define MAXCOUNTERS 64
enum { VALUE, DECLARED, FORCE_NO_OBJECT, FORCE_NO_COUNTER };

typedef struct {
	WCHAR machine[NAMELEN], object[NAMELEN], instance[NAMELEN], counter[NAMELEN];
	int hasInstance;
} path_t;

typedef struct {
	path_t p;
	int kind, rate, late;
	double value;
} line_t;

typedef struct counter {
	path_t p;
	int collects, rate, sized;
	DWORD status; /* CStatus after the last collect */
	double value;
	int nitems;
	WCHAR (*names)[NAMELEN];
	double *values;
	int *late;
} counter_t;

typedef struct {
	counter_t *c[MAXCOUNTERS];
	int n;
} query_t;

static line_t lines[MAXLINES];
static int nlines;
static CRITICAL_SECTION mu;

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID r)
{
	(void)h, (void)r;
	if (reason == DLL_PROCESS_ATTACH)
		InitializeCriticalSection(&mu);
	return TRUE;
}

/* parse splits [\\machine]\object[(instance)]\counter; 0 if malformed. */
static int parse(const WCHAR *s, path_t *p)
{
	memset(p, 0, sizeof *p);
	if (s[0] == L'\\' && s[1] == L'\\') {
		const WCHAR *e = wcschr(s + 2, L'\\');
		if (!e || e - s - 2 >= NAMELEN)
			return 0;
		wcsncpy(p->machine, s + 2, e - s - 2);
		s = e;
	}
	if (s[0] != L'\\')
		return 0;
	s++;
	const WCHAR *last = wcsrchr(s, L'\\');
	if (!last || last == s || !last[1] || wcslen(last + 1) >= NAMELEN)
		return 0;
	wcscpy(p->counter, last + 1);
	int olen = last - s;
	const WCHAR *open = wcschr(s, L'(');
	if (open && open < last && last[-1] == L')') {
		p->hasInstance = 1;
		if (last - open - 2 >= NAMELEN)
			return 0;
		wcsncpy(p->instance, open + 1, last - open - 2);
		olen = open - s;
	}
	if (olen <= 0 || olen >= NAMELEN)
		return 0;
	wcsncpy(p->object, s, olen);
	return 1;
}

static void load(void)
{
	WCHAR name[MAX_PATH];
	char buf[1024];
	nlines = 0;
	if (!GetEnvironmentVariableW(L"PDHSTUB_FILE", name, MAX_PATH))
		return;
	FILE *f = _wfopen(name, L"rb");
	if (!f)
		return;
	while (nlines < MAXLINES && fgets(buf, sizeof buf, f)) {
		WCHAR w[1024], *tok;
		line_t *l = &lines[nlines];
		buf[strcspn(buf, "\r\n")] = 0;
		if (!MultiByteToWideChar(CP_UTF8, 0, buf, -1, w, 1024) || w[0] != L'\\')
			continue;
		memset(l, 0, sizeof *l);
		if (!(tok = wcsrchr(w, L' ')))
			continue;
		if (!wcscmp(tok + 1, L"rate") || !wcscmp(tok + 1, L"late")) {
			l->rate = !wcscmp(tok + 1, L"rate");
			l->late = !l->rate;
			*tok = 0;
			if (!(tok = wcsrchr(w, L' ')))
				continue;
		}
		*tok++ = 0;
		if (!wcscmp(tok, L"NO_OBJECT"))
			l->kind = FORCE_NO_OBJECT;
		else if (!wcscmp(tok, L"NO_COUNTER"))
			l->kind = FORCE_NO_COUNTER;
		else if (!wcscmp(tok, L"-"))
			l->kind = DECLARED;
		else
			l->value = wcstod(tok, NULL);
		if (parse(w, &l->p))
			nlines++;
	}
	fclose(f);
}

static int same(const WCHAR *a, const WCHAR *b) { return !_wcsicmp(a, b); }

#define MAXLOCAL 64
static WCHAR localEn[MAXLOCAL][NAMELEN], localName[MAXLOCAL][NAMELEN];
static int nlocal;

static void loadLocal(void)
{
	WCHAR name[MAX_PATH];
	char buf[512];
	nlocal = 0;
	if (!GetEnvironmentVariableW(L"PDHSTUB_LOCAL", name, MAX_PATH))
		return;
	FILE *f = _wfopen(name, L"rb");
	if (!f)
		return;
	while (nlocal < MAXLOCAL && fgets(buf, sizeof buf, f)) {
		WCHAR w[512], *tab;
		buf[strcspn(buf, "\r\n")] = 0;
		if (!MultiByteToWideChar(CP_UTF8, 0, buf, -1, w, 512) || !(tab = wcschr(w, L'\t')))
			continue;
		*tab = 0;
		if (wcslen(w) >= NAMELEN || wcslen(tab + 1) >= NAMELEN)
			continue;
		wcscpy(localEn[nlocal], w);
		wcscpy(localName[nlocal++], tab + 1);
	}
	fclose(f);
}

/* local: the name a localized Windows shows for English en. */
static const WCHAR *local(const WCHAR *en)
{
	for (int i = 0; i < nlocal; i++)
		if (same(localEn[i], en))
			return localName[i];
	return en;
}

/* english: the English name of a local one (the enumeration functions take
 * local names). */
static const WCHAR *english(const WCHAR *name)
{
	for (int i = 0; i < nlocal; i++)
		if (same(localName[i], name))
			return localEn[i];
	return name;
}

/* hang blocks like a remote machine that does not answer; 1 if it did. */
static int hang(const path_t *p)
{
	WCHAR ms[32];
	if (!same(p->machine, L"unreachable"))
		return 0;
	Sleep(GetEnvironmentVariableW(L"PDHSTUB_HANG_MS", ms, 32) ? wcstoul(ms, NULL, 10) : 60000);
	return 1;
}

/*
 * pdhInstance reads an instance as PDH parses one in a path:
 * "parent/instance#index". So a name holding '/' or '#N' (an HTTP.sys queue
 * of a pool named so, or the duplicate "Pool#1") cannot be asked for by
 * writing it into a path: it selects another instance, or none.
 */
static const WCHAR *pdhInstance(const WCHAR *in, WCHAR *out)
{
	const WCHAR *slash = wcsrchr(in, L'/');
	wcscpy(out, slash ? slash + 1 : in);
	WCHAR *hash = wcsrchr(out, L'#');
	if (hash && hash[1] && wcsspn(hash + 1, L"0123456789") == wcslen(hash + 1))
		*hash = 0;
	return out;
}

/* status of a path against the loaded lines; fills c's value or items. */
static DWORD lookup(const path_t *p, counter_t *c)
{
	int machine = !p->machine[0], object = 0, counter = 0, wild = same(p->instance, L"*");
	WCHAR inst[NAMELEN];
	pdhInstance(p->instance, inst);
	if (c)
		c->nitems = 0;
	for (int i = 0; i < nlines; i++) {
		const line_t *l = &lines[i];
		if (!same(l->p.machine, p->machine))
			continue;
		machine = 1;
		if (!same(l->p.object, p->object))
			continue;
		object = 1;
		if (l->kind == FORCE_NO_OBJECT)
			return PDH_CSTATUS_NO_OBJECT;
		if (!same(l->p.counter, p->counter))
			continue;
		if (l->kind == FORCE_NO_COUNTER)
			return PDH_CSTATUS_NO_COUNTER;
		counter = 1;
		if (l->kind == DECLARED && wild && c && l->p.hasInstance && c->nitems < MAXLINES) {
			int seen = 0;
			for (int j = 0; j < c->nitems; j++)
				seen |= same(c->names[j], L"_Total");
			if (!seen) {
				wcscpy(c->names[c->nitems], L"_Total");
				c->late[c->nitems] = 0;
				c->values[c->nitems++] = 0;
			}
		}
		if (l->kind != VALUE || !c)
			continue;
		c->rate |= l->rate;
		if (wild && l->p.hasInstance && c->nitems < MAXLINES) {
			wcscpy(c->names[c->nitems], l->p.instance);
			c->late[c->nitems] = l->late;
			c->values[c->nitems++] = l->value;
		} else if (!wild && same(l->p.instance, inst)) {
			c->value = l->value;
			c->nitems = 1;
		}
	}
	if (!machine)
		return PDH_CSTATUS_NO_MACHINE;
	if (!object)
		return PDH_CSTATUS_NO_OBJECT;
	if (!counter)
		return PDH_CSTATUS_NO_COUNTER;
	return PDH_CSTATUS_VALID_DATA;
}

__declspec(dllexport) DWORD WINAPI PdhStubLoaded(void) { return 1; }

PDH_STATUS WINAPI PdhOpenQueryW(LPCWSTR src, DWORD_PTR user, PDH_HQUERY *q)
{
	(void)src, (void)user;
	if (!q)
		return PDH_INVALID_ARGUMENT;
	*q = calloc(1, sizeof(query_t));
	return *q ? ERROR_SUCCESS : PDH_MEMORY_ALLOCATION_FAILURE;
}

PDH_STATUS WINAPI PdhAddEnglishCounterW(PDH_HQUERY hq, LPCWSTR path, DWORD_PTR user, PDH_HCOUNTER *out)
{
	query_t *q = hq;
	path_t p;
	(void)user;
	if (!q || !path || !out || q->n == MAXCOUNTERS)
		return PDH_INVALID_ARGUMENT;
	if (!parse(path, &p))
		return PDH_CSTATUS_BAD_COUNTERNAME;
	if (hang(&p))
		return PDH_CSTATUS_NO_MACHINE;
	EnterCriticalSection(&mu);
	load();
	DWORD st = lookup(&p, NULL);
	LeaveCriticalSection(&mu);
	if (st != PDH_CSTATUS_VALID_DATA)
		return st;
	counter_t *c = calloc(1, sizeof *c);
	c->p = p;
	c->status = PDH_CSTATUS_INVALID_DATA; /* nothing collected yet */
	c->names = calloc(MAXLINES, sizeof *c->names);
	c->values = calloc(MAXLINES, sizeof *c->values);
	c->late = calloc(MAXLINES, sizeof *c->late);
	q->c[q->n++] = c;
	*out = c;
	return ERROR_SUCCESS;
}

PDH_STATUS WINAPI PdhCollectQueryData(PDH_HQUERY hq)
{
	query_t *q = hq;
	int data = 0;
	if (!q)
		return PDH_INVALID_HANDLE;
	for (int i = 0; i < q->n; i++)
		if (hang(&q->c[i]->p))
			return PDH_CSTATUS_NO_MACHINE;
	EnterCriticalSection(&mu);
	load();
	for (int i = 0; i < q->n; i++) {
		counter_t *c = q->c[i];
		c->status = lookup(&c->p, c);
		c->collects++;
		c->sized = 0;
		if (c->status == PDH_CSTATUS_VALID_DATA && c->nitems == 0)
			c->status = PDH_CSTATUS_NO_INSTANCE;
		if (c->status == PDH_CSTATUS_VALID_DATA && c->rate && c->collects < 2)
			c->status = PDH_CSTATUS_INVALID_DATA; /* a rate needs two samples */
		data |= c->status == PDH_CSTATUS_VALID_DATA;
	}
	LeaveCriticalSection(&mu);
	return data ? ERROR_SUCCESS : PDH_NO_DATA;
}

PDH_STATUS WINAPI PdhGetFormattedCounterValue(PDH_HCOUNTER h, DWORD fmt, LPDWORD type, PPDH_FMT_COUNTERVALUE v)
{
	counter_t *c = h;
	if (!c || !v || !(fmt & PDH_FMT_DOUBLE))
		return PDH_INVALID_ARGUMENT;
	if (type)
		*type = 0;
	v->CStatus = c->status;
	v->doubleValue = c->value;
	return c->status == PDH_CSTATUS_VALID_DATA ? ERROR_SUCCESS : PDH_INVALID_DATA;
}

PDH_STATUS WINAPI PdhGetFormattedCounterArrayW(PDH_HCOUNTER h, DWORD fmt, LPDWORD size, LPDWORD count,
					       PPDH_FMT_COUNTERVALUE_ITEM_W items)
{
	counter_t *c = h;
	if (!c || !size || !count || !(fmt & PDH_FMT_DOUBLE))
		return PDH_INVALID_ARGUMENT;
	if (c->status == PDH_CSTATUS_NO_INSTANCE)
		return PDH_NO_DATA;
	if (c->status != PDH_CSTATUS_VALID_DATA)
		return PDH_INVALID_DATA;
	const WCHAR *names[MAXLINES];
	double values[MAXLINES];
	int n = 0, wild = same(c->p.instance, L"*");
	DWORD need = 0;
	for (int i = 0; i < c->nitems; i++) {
		if (c->late[i] && !c->sized)
			continue; /* appears after the first (sizing) call */
		names[n] = wild ? c->names[i] : c->p.instance;
		values[n] = wild ? c->values[i] : c->value;
		need += sizeof *items + (wcslen(names[n]) + 1) * sizeof(WCHAR);
		n++;
	}
	c->sized = 1;
	*count = n;
	if (!items || *size < need) {
		/* Sizing (*size 0) gets the size; a buffer found too small gets
		 * no size to rely on: it is left as it was. */
		if (!items || *size == 0)
			*size = need;
		return PDH_MORE_DATA;
	}
	*size = need;
	WCHAR *str = (WCHAR *)(items + n);
	for (int i = 0; i < n; i++) {
		wcscpy(str, names[i]);
		items[i].szName = str;
		str += wcslen(str) + 1;
		items[i].FmtValue.CStatus = PDH_CSTATUS_VALID_DATA;
		items[i].FmtValue.doubleValue = values[i];
	}
	return ERROR_SUCCESS;
}

PDH_STATUS WINAPI PdhCloseQuery(PDH_HQUERY hq)
{
	query_t *q = hq;
	if (!q)
		return PDH_INVALID_HANDLE;
	for (int i = 0; i < q->n; i++) {
		free(q->c[i]->names);
		free(q->c[i]->values);
		free(q->c[i]->late);
		free(q->c[i]);
	}
	free(q);
	return ERROR_SUCCESS;
}

/* addname appends s to the multi-string list (once); returns chars added. */
static void addname(WCHAR (*list)[NAMELEN], int *n, const WCHAR *s)
{
	for (int i = 0; i < *n; i++)
		if (same(list[i], s))
			return;
	wcscpy(list[(*n)++], s);
}

/* multisz writes the names as a double-NUL-terminated list if it fits. */
static DWORD multisz(WCHAR (*list)[NAMELEN], int n, LPWSTR buf, DWORD cap)
{
	DWORD need = 1;
	for (int i = 0; i < n; i++)
		need += wcslen(list[i]) + 1;
	if (n == 0)
		need = 0;
	if (buf && cap >= need && n > 0) {
		for (int i = 0; i < n; i++) {
			wcscpy(buf, list[i]);
			buf += wcslen(list[i]) + 1;
		}
		*buf = 0;
	}
	return need;
}

static WCHAR found1[MAXLINES][NAMELEN], found2[MAXLINES][NAMELEN];

static int lateObjects; /* late objects shown: one more per refresh */

PDH_STATUS WINAPI PdhEnumObjectsW(LPCWSTR src, LPCWSTR machine, LPWSTR list, LPDWORD len, DWORD detail, BOOL refresh)
{
	int n = 0, late = 0;
	(void)src, (void)detail;
	if (!len)
		return PDH_INVALID_ARGUMENT;
	/* mszObjectList: "Set to NULL if pcchBufferSize is zero" (PdhEnumObjectsW
	 * documentation); the stand-in refuses a buffer with a zero size. */
	if (list && *len == 0)
		return PDH_INVALID_ARGUMENT;
	EnterCriticalSection(&mu);
	load();
	loadLocal();
	if (refresh)
		lateObjects++;
	for (int i = 0; i < nlines; i++)
		if (same(lines[i].p.machine, machine ? machine : L"") && (!lines[i].late || late++ < lateObjects))
			addname(found1, &n, local(lines[i].p.object));
	DWORD need = multisz(found1, n, NULL, 0);
	DWORD st = (!list || *len < need) ? PDH_MORE_DATA : ERROR_SUCCESS;
	if (st == ERROR_SUCCESS)
		multisz(found1, n, list, *len);
	LeaveCriticalSection(&mu);
	*len = need;
	return st;
}

PDH_STATUS WINAPI PdhEnumObjectItemsW(LPCWSTR src, LPCWSTR machine, LPCWSTR object, LPWSTR ctrs, LPDWORD clen,
				      LPWSTR insts, LPDWORD ilen, DWORD detail, DWORD flags)
{
	int nc = 0, ni = 0, seen = 0;
	(void)src, (void)detail, (void)flags;
	if (!object || !clen || !ilen)
		return PDH_INVALID_ARGUMENT;
	/* mszCounterList / mszInstanceList: "Set to NULL if
	 * pcchCounterListLength / pcchInstanceListLength is zero"
	 * (PdhEnumObjectItemsW documentation). */
	if ((ctrs && *clen == 0) || (insts && *ilen == 0))
		return PDH_INVALID_ARGUMENT;
	EnterCriticalSection(&mu);
	load();
	loadLocal();
	object = english(object);
	for (int i = 0; i < nlines; i++) {
		const line_t *l = &lines[i];
		if (!same(l->p.machine, machine ? machine : L"") || !same(l->p.object, object))
			continue;
		seen = 1;
		addname(found1, &nc, local(l->p.counter));
		if (l->p.hasInstance && l->kind == VALUE && !same(l->p.instance, L"*"))
			addname(found2, &ni, l->p.instance);
	}
	DWORD cneed = multisz(found1, nc, NULL, 0), ineed = multisz(found2, ni, NULL, 0);
	DWORD st = !seen ? PDH_CSTATUS_NO_OBJECT
		      : (!ctrs || *clen < cneed || (ineed && (!insts || *ilen < ineed))) ? PDH_MORE_DATA
											  : ERROR_SUCCESS;
	if (st == ERROR_SUCCESS) {
		multisz(found1, nc, ctrs, *clen);
		multisz(found2, ni, insts, *ilen);
	}
	LeaveCriticalSection(&mu);
	*clen = cneed;
	*ilen = ineed;
	return st;
}

/* ---- Manifest-based counter sets (perflib.h consumer functions) ---- */

#define MAXSETS 16
static WCHAR setEn[MAXSETS][NAMELEN];
static int nsets;

static void loadSets(void)
{
	WCHAR name[MAX_PATH];
	char buf[512];
	nsets = 0;
	if (!GetEnvironmentVariableW(L"PDHSTUB_V2", name, MAX_PATH))
		return;
	FILE *f = _wfopen(name, L"rb");
	if (!f)
		return;
	while (nsets < MAXSETS && fgets(buf, sizeof buf, f)) {
		WCHAR w[512];
		buf[strcspn(buf, "\r\n")] = 0;
		if (!MultiByteToWideChar(CP_UTF8, 0, buf, -1, w, 512) || !w[0] || wcslen(w) >= NAMELEN)
			continue;
		wcscpy(setEn[nsets++], w);
	}
	fclose(f);
}

/* A counter set's GUID: {5354A0xx-...}, xx its line in PDHSTUB_V2. */
static void setGuid(int i, GUID *g)
{
	static const GUID base = {0x5354a000, 0x1d2b, 0x4c1e, {0x9a, 0x4f, 0x44, 0x52, 0x41, 0x49, 0x4e, 0x32}};
	*g = base;
	g->Data1 += i;
}

ULONG WINAPI PerfEnumerateCounterSet(LPCWSTR machine, GUID *ids, DWORD cids, DWORD *actual)
{
	if (!actual || (cids && !ids))
		return ERROR_INVALID_PARAMETER;
	if (machine && machine[0])
		return ERROR_BAD_NETPATH; /* the stand-in knows this machine only */
	EnterCriticalSection(&mu);
	loadSets();
	int n = nsets;
	LeaveCriticalSection(&mu);
	*actual = n;
	if (cids < (DWORD)n)
		return ERROR_NOT_ENOUGH_MEMORY;
	for (int i = 0; i < n; i++)
		setGuid(i, &ids[i]);
	return ERROR_SUCCESS;
}

enum { REG_SET_NAME = 3, REG_COUNTER_NAMES = 5, REG_SET_ENGLISH = 9, REG_COUNTER_ENGLISH = 10 };

ULONG WINAPI PerfQueryCounterSetRegistrationInfo(LPCWSTR machine, const GUID *id, DWORD code, DWORD lang,
						 BYTE *info, DWORD cinfo, DWORD *actual)
{
	static BYTE out[16384];
	DWORD need = 0;
	int set = -1;
	(void)lang; /* one local language: PDHSTUB_LOCAL's */
	if (!id || !actual || (cinfo && !info))
		return ERROR_INVALID_PARAMETER;
	if (machine && machine[0])
		return ERROR_BAD_NETPATH;
	EnterCriticalSection(&mu);
	load();
	loadLocal();
	loadSets();
	for (int i = 0; i < nsets; i++) {
		GUID g;
		setGuid(i, &g);
		if (IsEqualGUID(&g, id))
			set = i;
	}
	ULONG st = ERROR_SUCCESS;
	if (set < 0) {
		st = ERROR_NOT_FOUND;
	} else if (code == REG_SET_NAME || code == REG_SET_ENGLISH) {
		const WCHAR *s = code == REG_SET_NAME ? local(setEn[set]) : setEn[set];
		need = (wcslen(s) + 1) * sizeof(WCHAR);
		memcpy(out, s, need);
	} else if (code == REG_COUNTER_NAMES || code == REG_COUNTER_ENGLISH) {
		/* PERF_STRING_BUFFER_HEADER, then one PERF_STRING_COUNTER_HEADER
		 * per counter (ids 1, 2, ... in the order of PDHSTUB_FILE), then
		 * the strings, each at its offset from the block's start. */
		int nc = 0;
		WCHAR(*names)[NAMELEN] = found2;
		for (int i = 0; i < nlines; i++)
			if (!lines[i].p.machine[0] && same(lines[i].p.object, setEn[set]))
				addname(names, &nc, lines[i].p.counter);
		DWORD *hdr = (DWORD *)out, off = 8 + 8 * nc;
		hdr[1] = nc;
		for (int i = 0; i < nc; i++) {
			const WCHAR *s = code == REG_COUNTER_NAMES ? local(names[i]) : names[i];
			DWORD len = (wcslen(s) + 1) * sizeof(WCHAR);
			if (off + len > sizeof out) {
				st = ERROR_INVALID_DATA;
				break;
			}
			hdr[2 + 2 * i] = i + 1;
			hdr[3 + 2 * i] = off;
			memcpy(out + off, s, len);
			off += len;
		}
		hdr[0] = off;
		need = off;
	} else {
		st = ERROR_NOT_SUPPORTED; /* what drain does not ask */
	}
	if (st == ERROR_SUCCESS) {
		if (cinfo < need)
			st = ERROR_NOT_ENOUGH_MEMORY;
		else
			memcpy(info, out, need);
		*actual = need;
	}
	LeaveCriticalSection(&mu);
	return st;
}
