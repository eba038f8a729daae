package pdh

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

const perflib = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Perflib\`

// LoadNames reads the English (009) and current-language Perflib names. On
// an English Windows, or where CurrentLanguage cannot be read, every name
// maps to itself.
func LoadNames() (*Names, error) {
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
