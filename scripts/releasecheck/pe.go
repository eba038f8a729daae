package main

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// The strings Explorer's Properties > Details and Defender show; each must
// be there and not empty.
var wantStrings = []string{"CompanyName", "FileDescription", "FileVersion", "ProductName", "ProductVersion", "OriginalFilename"}

func checkPE(path, version string) error {
	strs, err := versionStrings(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range wantStrings {
		if strs[k] == "" {
			return fmt.Errorf("%s: version resource has no %s", path, k)
		}
	}
	if strs["ProductName"] != "drain" {
		return fmt.Errorf("%s: ProductName is %q, want \"drain\"", path, strs["ProductName"])
	}
	if strs["ProductVersion"] != version {
		return fmt.Errorf("%s: ProductVersion is %q, want %q", path, strs["ProductVersion"], version)
	}
	fmt.Printf("ok %s: %s %s by %s (%s)\n", path, strs["ProductName"], strs["ProductVersion"], strs["CompanyName"], strs["FileDescription"])
	return nil
}

// versionStrings reads the StringFileInfo of the first RT_VERSION resource.
func versionStrings(path string) (map[string]string, error) {
	f, err := pe.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	sec := f.Section(".rsrc")
	if sec == nil {
		return nil, errors.New("no .rsrc section: no resources, so no version resource")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	const rtVersion = 16
	// Resource tree: type -> name -> language -> data entry.
	off, err := dirEntry(data, 0, rtVersion, true)
	if err != nil {
		return nil, fmt.Errorf("no RT_VERSION resource: %w", err)
	}
	for range 2 { // name, then language: the first of each
		if off, err = dirEntry(data, off, 0, false); err != nil {
			return nil, err
		}
	}
	if int(off)+16 > len(data) {
		return nil, errors.New("resource data entry out of range")
	}
	rva := binary.LittleEndian.Uint32(data[off:])
	size := binary.LittleEndian.Uint32(data[off+4:])
	start := int64(rva) - int64(sec.VirtualAddress)
	if start < 0 || start+int64(size) > int64(len(data)) {
		return nil, errors.New("version resource out of range")
	}
	return parseVersionInfo(data[start : start+int64(size)])
}

// dirEntry returns the offset a resource directory entry points to: the
// entry with ID id when byID, else the first entry.
func dirEntry(data []byte, dir uint32, id uint16, byID bool) (uint32, error) {
	if int(dir)+16 > len(data) {
		return 0, errors.New("resource directory out of range")
	}
	named := binary.LittleEndian.Uint16(data[dir+12:])
	ids := binary.LittleEndian.Uint16(data[dir+14:])
	n := uint32(named) + uint32(ids)
	for i := range n {
		e := dir + 16 + i*8
		if int(e)+8 > len(data) {
			return 0, errors.New("resource directory entry out of range")
		}
		name := binary.LittleEndian.Uint32(data[e:])
		target := binary.LittleEndian.Uint32(data[e+4:])
		if byID && (name&0x80000000 != 0 || uint16(name) != id) {
			continue
		}
		return target &^ 0x80000000, nil
	}
	if byID {
		return 0, fmt.Errorf("no entry %d", id)
	}
	return 0, errors.New("empty resource directory")
}

// parseVersionInfo walks VS_VERSIONINFO -> StringFileInfo -> StringTable -> String.
func parseVersionInfo(b []byte) (map[string]string, error) {
	key, children, err := block(b)
	if err != nil {
		return nil, err
	}
	if key != "VS_VERSION_INFO" {
		return nil, fmt.Errorf("version resource starts with %q, not VS_VERSION_INFO", key)
	}
	out := map[string]string{}
	for _, sfi := range children {
		k, tables, err := block(sfi)
		if err != nil {
			return nil, err
		}
		if k != "StringFileInfo" {
			continue
		}
		for _, t := range tables {
			_, strs, err := block(t)
			if err != nil {
				return nil, err
			}
			for _, s := range strs {
				name, val, err := stringEntry(s)
				if err != nil {
					return nil, err
				}
				out[name] = val
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("version resource has no StringFileInfo strings")
	}
	return out, nil
}

// block splits one version-info structure (wLength, wValueLength, wType,
// szKey, padding, Value, padding, Children) into its key and children.
func block(b []byte) (string, [][]byte, error) {
	if len(b) < 6 {
		return "", nil, errors.New("truncated version block")
	}
	length := int(binary.LittleEndian.Uint16(b))
	if length > len(b) || length < 6 {
		return "", nil, errors.New("bad version block length")
	}
	b = b[:length]
	valueLen := int(binary.LittleEndian.Uint16(b[2:]))
	typ := binary.LittleEndian.Uint16(b[4:])
	key, p := utf16z(b, 6)
	p = align4(p)
	if typ == 1 {
		valueLen *= 2 // text values count characters
	}
	p = align4(p + valueLen)
	var children [][]byte
	for p+6 <= len(b) {
		n := int(binary.LittleEndian.Uint16(b[p:]))
		if n == 0 || p+n > len(b) {
			break
		}
		children = append(children, b[p:p+n])
		p = align4(p + n)
	}
	return key, children, nil
}

func stringEntry(b []byte) (string, string, error) {
	if len(b) < 6 {
		return "", "", errors.New("truncated version string")
	}
	length := int(binary.LittleEndian.Uint16(b))
	if length > len(b) {
		return "", "", errors.New("bad version string length")
	}
	b = b[:length]
	key, p := utf16z(b, 6)
	p = align4(p)
	val, _ := utf16z(b, p)
	return key, val, nil
}

// utf16z reads a NUL-terminated UTF-16LE string at off; it returns the string
// and the offset after the NUL.
func utf16z(b []byte, off int) (string, int) {
	var u []uint16
	for off+1 < len(b) {
		c := binary.LittleEndian.Uint16(b[off:])
		off += 2
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.TrimRight(string(utf16.Decode(u)), "\x00"), off
}

func align4(n int) int { return (n + 3) &^ 3 }
