//go:build windows

package rotation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	ole "github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"
	"github.com/yusufpapurcu/wmi"

	"github.com/drain-cli/drain/internal/winps"
)

// nlbNamespace is the NLB WMI provider's namespace (WlbsProv.dll), present
// once the NLB feature is installed.
const nlbNamespace = `root\MicrosoftNLB`

// wmiNLB is this node's NLB through WMI: MicrosoftNLB_Node instances are
// listed with yusufpapurcu/wmi; their methods (DrainStop, Start), which
// that package cannot call on an instance, through go-ole on the
// SWbemObject, as a script would (objItem.DrainStop()).
type wmiNLB struct{}

func newNLBLocal() nlbLocal { return wmiNLB{} }

type nlbNodeRow struct {
	Name         string // "CLUSTER_IP:HOST_ID"
	ComputerName string
	StatusCode   uint32 // right for the node WMI is connected to only
}

type nlbSettingRow struct {
	Name        string // "CLUSTER_IP:HOST_ID" of this machine's node
	ClusterName string
}

func nlbShort(s string) string { s, _, _ = strings.Cut(strings.ToLower(s), "."); return s }

// nodes lists every MicrosoftNLB_Node this machine sees (all clusters it
// is in), each with its cluster's name from MicrosoftNLB_ClusterSetting
// (which exists for this machine's own nodes).
func (wmiNLB) nodes(context.Context) ([]winps.NLBNode, string, error) {
	var rows []nlbNodeRow
	if err := wmi.QueryNamespace("SELECT Name, ComputerName, StatusCode FROM MicrosoftNLB_Node", &rows, nlbNamespace); err != nil {
		return nil, "", nlbWMIError(err)
	}
	var settings []nlbSettingRow
	if err := wmi.QueryNamespace("SELECT Name, ClusterName FROM MicrosoftNLB_ClusterSetting", &settings, nlbNamespace); err != nil {
		return nil, "", nlbWMIError(err)
	}
	names := map[string]string{}
	for _, c := range settings {
		ip, _, _ := strings.Cut(c.Name, ":")
		names[ip] = c.ClusterName
	}
	host, _ := os.Hostname()
	nodes := make([]winps.NLBNode, len(rows))
	for i, r := range rows {
		ip, id, _ := strings.Cut(r.Name, ":")
		hostID, _ := strconv.Atoi(id)
		nodes[i] = winps.NLBNode{
			Name: r.ComputerName, Cluster: names[ip], ClusterIP: ip, Key: r.Name, HostID: hostID,
			State: winps.NLBStatusCode(r.StatusCode), Detail: fmt.Sprintf("StatusCode %d (%s)", r.StatusCode, winps.NLBReturnName(r.StatusCode)),
		}
		if nlbShort(r.ComputerName) != nlbShort(host) {
			nodes[i].Detail += ", as this node sees it"
		}
	}
	if len(rows) == 0 {
		return nil, "", configErrorf("WMI %s lists no MicrosoftNLB_Node: NLB is installed but this machine is in no cluster", nlbNamespace)
	}
	return nodes, host, nil
}

// nlbWMIError makes the WMI errors an operator meets readable: no NLB
// namespace (WBEM_E_INVALID_NAMESPACE 0x8004100E: the feature is not
// installed; a usage error, nothing can change) and access denied
// (WBEM_E_ACCESS_DENIED 0x80041003, E_ACCESSDENIED: not elevated). A COM
// error is shown by its HRESULT and, for an exception, the WMI code in it.
func nlbWMIError(err error) error {
	text := err.Error()
	var codes []uint32
	var oe *ole.OleError
	if errors.As(err, &oe) {
		codes = append(codes, uint32(oe.Code()))
		text = fmt.Sprintf("HRESULT 0x%08X", uint32(oe.Code()))
		var ei ole.EXCEPINFO
		if errors.As(oe.SubError(), &ei) && ei.SCODE() != 0 {
			codes = append(codes, ei.SCODE())
			text += fmt.Sprintf(", WMI 0x%08X", ei.SCODE())
		}
		if d := strings.TrimSpace(oe.Description()); d != "" && d != "<nil>" {
			text += ": " + d
		}
	}
	lower := strings.ToLower(text)
	for _, c := range codes {
		switch c {
		case 0x8004100E:
			return configErrorf("this machine has no Windows NLB: WMI namespace %s not found (%s); install the feature (Install-WindowsFeature NLB) and join a cluster, or name the NLB host", nlbNamespace, text)
		case 0x80041003, 0x80070005:
			return fmt.Errorf("WMI %s: access denied (%s); run drain elevated (as an administrator)", nlbNamespace, text)
		}
	}
	if strings.Contains(lower, "invalid namespace") {
		return configErrorf("this machine has no Windows NLB: WMI namespace %s not found (%s); install the feature (Install-WindowsFeature NLB) and join a cluster, or name the NLB host", nlbNamespace, text)
	}
	return fmt.Errorf("WMI %s: %s; is Windows NLB installed (Install-WindowsFeature NLB) and this machine a cluster node?", nlbNamespace, text)
}

// call runs method on the MicrosoftNLB_Node whose Name is key: the row
// that was read, in the cluster the target names.
func (wmiNLB) call(_ context.Context, method, key string) (rc uint32, err error) {
	// COM wants one thread for the whole conversation.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := ole.CoInitializeEx(0, ole.COINIT_MULTITHREADED); err != nil {
		var oe *ole.OleError
		if !errors.As(err, &oe) || (oe.Code() != ole.S_OK && oe.Code() != 1) { // 1: S_FALSE, already initialised
			return 0, fmt.Errorf("CoInitializeEx: %w", err)
		}
	}
	defer ole.CoUninitialize()
	unk, err := oleutil.CreateObject("WbemScripting.SWbemLocator")
	if err != nil {
		return 0, fmt.Errorf("WbemScripting.SWbemLocator: %w", err)
	}
	defer unk.Release()
	loc, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return 0, err
	}
	defer loc.Release()
	svcV, err := oleutil.CallMethod(loc, "ConnectServer", nil, nlbNamespace)
	if err != nil {
		return 0, nlbWMIError(err)
	}
	defer func() { _ = svcV.Clear() }()
	resV, err := oleutil.CallMethod(svcV.ToIDispatch(), "ExecQuery", "SELECT * FROM MicrosoftNLB_Node")
	if err != nil {
		return 0, nlbWMIError(err)
	}
	defer func() { _ = resV.Clear() }()
	host, _ := os.Hostname()
	found := false
	err = oleutil.ForEach(resV.ToIDispatch(), func(v *ole.VARIANT) error {
		defer func() { _ = v.Clear() }()
		item := v.ToIDispatch()
		cn, err := oleutil.GetProperty(item, "ComputerName")
		if err != nil {
			return err
		}
		name := cn.ToString()
		_ = cn.Clear()
		kv, err := oleutil.GetProperty(item, "Name")
		if err != nil {
			return err
		}
		k := kv.ToString()
		_ = kv.Clear()
		if found || k != key || nlbShort(name) != nlbShort(host) {
			return nil
		}
		found = true
		out, err := oleutil.CallMethod(item, method)
		if err != nil {
			return nlbWMIError(err)
		}
		defer func() { _ = out.Clear() }()
		switch x := out.Value().(type) {
		case int32:
			rc = uint32(x)
		case uint32:
			rc = x
		case int64:
			rc = uint32(x)
		default:
			return fmt.Errorf("%s returned %v (%T), not a number", method, x, x)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, configErrorf("no MicrosoftNLB_Node %s for this machine (%s) in WMI %s", key, host, nlbNamespace)
	}
	return rc, nil
}
