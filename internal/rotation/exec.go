package rotation

import (
	"fmt"
	"sort"
	"strings"
)

// checkSettingKeys rejects a setting of the config file's rotation.TYPE
// section that typ does not know, naming the closest known one.
func checkSettingKeys(typ string, settings map[string]any, known ...string) error {
	var bad []string
	for k := range settings {
		if !containsFold(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	msg := fmt.Sprintf("%s: config file rotation.%s: unknown setting %q", ErrConfig.Error(), typ, bad[0])
	if len(known) == 0 {
		msg += fmt.Sprintf(" (%s has no settings)", typ)
	} else {
		msg += " (settings: " + strings.Join(known, ", ") + ")" + didYouMean(bad[0], known)
	}
	return fmt.Errorf("%w%s", ErrConfig, strings.TrimPrefix(msg, ErrConfig.Error()))
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
