package app

import (
	"strconv"

	"github.com/fix-status/fix-status/app/rules"
)

func itoa(n int) string { return strconv.Itoa(n) }

func truncateReason(s string) string { return rules.Truncate(s, rules.MaxReason) }
