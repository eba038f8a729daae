// Command releasecheck checks what a goreleaser run left in dist/, for
// scripts/release-check.sh. Each subcommand prints what it checked and exits
// 1 with one line naming the problem if something is wrong:
//
//	releasecheck pe     FILE.exe VERSION           the Windows version resource
//	releasecheck winget DIR SCHEMADIR VERSION CHECKSUMS  winget manifests against their JSON schemas, hashes against checksums.txt
//	releasecheck scoop  FILE.json CHECKSUMS VERSION the Scoop manifest, hashes against checksums.txt
//	releasecheck sbom   FILE.cdx.json...           CycloneDX SBOMs name drain's modules
//	releasecheck chocolatey DIR CHECKSUMS VERSION  the Chocolatey package scripts/chocolatey wrote
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "pe":
		if len(args) != 2 {
			usage()
		}
		err = checkPE(args[0], args[1])
	case "winget":
		if len(args) != 4 {
			usage()
		}
		err = checkWinget(args[0], args[1], args[2], args[3])
	case "scoop":
		if len(args) != 3 {
			usage()
		}
		err = checkScoop(args[0], args[1], args[2])
	case "sbom":
		if len(args) == 0 {
			usage()
		}
		err = checkSBOMs(args)
	case "chocolatey":
		if len(args) != 3 {
			usage()
		}
		err = checkChocolatey(args[0], args[1], args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "releasecheck:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: releasecheck pe FILE.exe VERSION
       releasecheck winget DIR SCHEMADIR VERSION CHECKSUMS
       releasecheck scoop FILE.json CHECKSUMS VERSION
       releasecheck sbom FILE.cdx.json...
       releasecheck chocolatey DIR CHECKSUMS VERSION`)
	os.Exit(2)
}
