package pdh

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const perflib = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Perflib\`

// LoadNames reads the English (009) and current-language Perflib names and
// the names of the manifest-based counter sets (CounterSets). On an English
// Windows, or where neither can be read, every name maps to itself.
func LoadNames() (*Names, error) {
	n, err := perflibNames()
	sets, serr := CounterSets()
	n.AddCounterSets(sets)
	return n, errors.Join(err, serr)
}

func perflibNames() (*Names, error) {
	english, err := perflibCounter("009")
	if err != nil {
		return &Names{}, err
	}
	local, err := perflibCounter("CurrentLanguage")
	if errors.Is(err, registry.ErrNotExist) {
		return &Names{}, nil
	}
	if err != nil {
		return &Names{}, err
	}
	return NewNames(english, local), nil
}

func perflibCounter(lang string) ([]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, perflib+lang, registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	v, _, err := k.GetStringsValue("Counter")
	return v, err
}

// advapi32 exports the Performance Counter Library's consumer functions
// (PerfEnumerateCounterSet, PerfQueryCounterSetRegistrationInfo: Windows 10
// 1607 and Windows Server 2016 on).
var advapi32 = windows.NewLazySystemDLL("advapi32.dll")

// CounterSets lists this machine's manifest-based counter sets with their
// local and English names (nil where the functions do not exist).
func CounterSets() ([]CounterSet, error) { return CounterSetsFrom(advapi32) }

// CounterSetsFrom is CounterSets through the functions of lib (tests give
// the stand-in pdh.dll, Wine's advapi32 having neither).
func CounterSetsFrom(lib *windows.LazyDLL) ([]CounterSet, error) {
	enum, query := lib.NewProc("PerfEnumerateCounterSet"), lib.NewProc("PerfQueryCounterSetRegistrationInfo")
	if enum.Find() != nil || query.Find() != nil {
		return nil, nil // before Windows 10 1607 / Server 2016
	}
	ids, err := counterSetIDs(enum)
	if err != nil {
		return nil, err
	}
	// The names in the language the enumeration shows: the thread's
	// preferred UI language (0) and the user's UI language, which PDH uses.
	langs := []uint32{0}
	if l := uint32(getUserDefaultUILanguage()); l != 0 {
		langs = append(langs, l)
	}
	var sets []CounterSet
	var firstErr error
	for i := range ids {
		set, err := counterSet(query, &ids[i], langs)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue // one provider's resources missing is no reason to lose the rest
		}
		sets = append(sets, set)
	}
	return sets, firstErr
}

// counterSetIDs calls PerfEnumerateCounterSet for the local machine: sized
// first, then read; sized again if a set was registered in between.
func counterSetIDs(enum *windows.LazyProc) ([]windows.GUID, error) {
	var ids []windows.GUID
	for range 5 {
		var n uint32
		var first *windows.GUID
		if len(ids) > 0 {
			first = &ids[0]
		}
		r, _, _ := enum.Call(0, uintptr(unsafe.Pointer(first)), uintptr(len(ids)), uintptr(unsafe.Pointer(&n)))
		if r == uintptr(windows.ERROR_NOT_ENOUGH_MEMORY) {
			ids = make([]windows.GUID, n)
			continue
		}
		if r != 0 {
			return nil, fmt.Errorf("PerfEnumerateCounterSet: %w", syscall.Errno(r))
		}
		return ids[:min(int(n), len(ids))], nil
	}
	return nil, errors.New("PerfEnumerateCounterSet: the list kept growing while it was read")
}

// Request codes of PerfQueryCounterSetRegistrationInfo (PerfRegInfoType).
const (
	regCounterSetName     = 3  // PERF_REG_COUNTERSET_NAME_STRING
	regCounterNames       = 5  // PERF_REG_COUNTER_NAME_STRINGS
	regCounterSetEnglish  = 9  // PERF_REG_COUNTERSET_ENGLISH_NAME
	regCounterEnglishName = 10 // PERF_REG_COUNTER_ENGLISH_NAMES
)

func counterSet(query *windows.LazyProc, id *windows.GUID, langs []uint32) (CounterSet, error) {
	b, err := regInfo(query, id, regCounterSetEnglish, 0)
	if err != nil {
		return CounterSet{}, err
	}
	en, ok := utf16z(b)
	if !ok || en == "" {
		return CounterSet{}, fmt.Errorf("counter set %v: no English name", id)
	}
	set := CounterSet{English: en, Counters: map[string]string{}}
	b, err = regInfo(query, id, regCounterEnglishName, 0)
	if err != nil {
		return CounterSet{}, err
	}
	english, err := ParseCounterStrings(b)
	if err != nil {
		return CounterSet{}, fmt.Errorf("counter set %s: %w", en, err)
	}
	for _, lang := range langs {
		if b, err := regInfo(query, id, regCounterSetName, lang); err == nil {
			if l, ok := utf16z(b); ok && l != "" && !slices.Contains(set.Local, l) {
				set.Local = append(set.Local, l)
			}
		}
		b, err := regInfo(query, id, regCounterNames, lang)
		if err != nil {
			continue
		}
		local, err := ParseCounterStrings(b)
		if err != nil {
			continue
		}
		for cid, l := range local {
			if e, ok := english[cid]; ok && e != "" {
				set.Counters[strings.ToLower(l)] = e
			}
		}
	}
	// The English name is also how an English Windows shows it.
	if !slices.Contains(set.Local, en) {
		set.Local = append(set.Local, en)
	}
	for _, e := range english {
		if _, ok := set.Counters[strings.ToLower(e)]; !ok && e != "" {
			set.Counters[strings.ToLower(e)] = e
		}
	}
	return set, nil
}

// regInfo calls PerfQueryCounterSetRegistrationInfo for the local machine:
// sized first (no buffer), then read; a buffer found too small
// (ERROR_NOT_ENOUGH_MEMORY: the registration changed meanwhile) is sized
// again.
func regInfo(query *windows.LazyProc, id *windows.GUID, code, lang uint32) ([]byte, error) {
	var buf []byte
	for range 5 {
		var need uint32
		var p *byte
		if len(buf) > 0 {
			p = &buf[0]
		}
		r, _, _ := query.Call(0, uintptr(unsafe.Pointer(id)), uintptr(code), uintptr(lang),
			uintptr(unsafe.Pointer(p)), uintptr(len(buf)), uintptr(unsafe.Pointer(&need)))
		if r == uintptr(windows.ERROR_NOT_ENOUGH_MEMORY) {
			buf = make([]byte, need)
			continue
		}
		if r != 0 {
			return nil, fmt.Errorf("PerfQueryCounterSetRegistrationInfo(%v, %d): %w", id, code, syscall.Errno(r))
		}
		return buf[:min(int(need), len(buf))], nil
	}
	return nil, fmt.Errorf("PerfQueryCounterSetRegistrationInfo(%v, %d): the size kept changing", id, code)
}

var procGetUserDefaultUILanguage = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserDefaultUILanguage")

func getUserDefaultUILanguage() uint16 {
	if procGetUserDefaultUILanguage.Find() != nil {
		return 0
	}
	r, _, _ := procGetUserDefaultUILanguage.Call()
	return uint16(r)
}
