package pdh

//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go pdh_windows.go

// The PDH functions drain calls. Every one returns a PDH status (0 is
// success), which mkwinsyscall turns into a syscall.Errno; pdhErr turns that
// into an *Error with pdh.dll's own message text.
//
//sys	pdhOpenQuery(dataSource *uint16, userData uintptr, query *windows.Handle) (ret error) = pdh.PdhOpenQueryW
//sys	pdhAddEnglishCounter(query windows.Handle, path *uint16, userData uintptr, counter *windows.Handle) (ret error) = pdh.PdhAddEnglishCounterW
//sys	pdhCollectQueryData(query windows.Handle) (ret error) = pdh.PdhCollectQueryData
//sys	pdhGetFormattedCounterValue(counter windows.Handle, format uint32, typ *uint32, value *fmtCounterValue) (ret error) = pdh.PdhGetFormattedCounterValue
//sys	pdhGetFormattedCounterArray(counter windows.Handle, format uint32, size *uint32, count *uint32, items *byte) (ret error) = pdh.PdhGetFormattedCounterArrayW
//sys	pdhCloseQuery(query windows.Handle) (ret error) = pdh.PdhCloseQuery
//sys	pdhEnumObjects(dataSource *uint16, machine *uint16, list *uint16, size *uint32, detail uint32, refresh bool) (ret error) = pdh.PdhEnumObjectsW
//sys	pdhEnumObjectItems(dataSource *uint16, machine *uint16, object *uint16, counters *uint16, countersSize *uint32, instances *uint16, instancesSize *uint32, detail uint32, flags uint32) (ret error) = pdh.PdhEnumObjectItemsW

// Formats and levels from pdh.h / winperf.h.
const (
	fmtDouble    = 0x00000200 // PDH_FMT_DOUBLE
	fmtNoCap100  = 0x00008000 // PDH_FMT_NOCAP100: percentages may exceed 100
	detailWizard = 400        // PERF_DETAIL_WIZARD: every object and counter
)

// fmtCounterValue is PDH_FMT_COUNTERVALUE with the double member of its union.
type fmtCounterValue struct {
	CStatus uint32
	_       uint32
	Double  float64
}

// fmtCounterValueItem is PDH_FMT_COUNTERVALUE_ITEM_W; Name points into the
// same buffer, which is not scanned by the garbage collector, hence uintptr.
type fmtCounterValueItem struct {
	Name  uintptr
	Value fmtCounterValue
}
