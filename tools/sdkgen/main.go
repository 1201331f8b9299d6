// Command sdkgen writes the Zomro provider's SDKs from its package schema with
// Pulumi's own code generators (pkg/v3/codegen): one folder per language under
// the output folder, each replaced whole so that no stale file survives.
//
//	sdkgen -schema schema.json -out sdk            # nodejs, go and python
//	sdkgen -schema schema.json -out sdk -languages nodejs
//
// `pulumi package gen-sdk` does the same through the language hosts'
// GeneratePackage, but the Node.js, Go and Python hosts are not served by the
// Go module proxy; the generators they call are, and are called here directly.
// No .NET generator is in pkg/v3, so no C# SDK is written.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const (
	tool      = "zomro-pulumi sdkgen"
	sdkModule = "github.com/pulumi/pulumi/sdk/v3"
)

// noOtherPackages is the loader of a schema that refers to no other package: the
// binder asks it only for a reference outside the schema, which this one has none of.
type noOtherPackages struct{}

var errNoOtherPackages = errors.New("the zomro schema refers to no other package")

func (noOtherPackages) LoadPackage(string, *semver.Version) (*schema.Package, error) {
	return nil, errNoOtherPackages
}

func (noOtherPackages) LoadPackageV2(context.Context, *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, errNoOtherPackages
}

func (noOtherPackages) LoadPackageReference(string, *semver.Version) (schema.PackageReference, error) {
	return nil, errNoOtherPackages
}

func (noOtherPackages) LoadPackageReferenceV2(
	context.Context, *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return nil, errNoOtherPackages
}

// generators writes one language's files (path -> contents) from a bound package.
var generators = map[string]func(*schema.Package) (map[string][]byte, error){
	"nodejs": func(pkg *schema.Package) (map[string][]byte, error) {
		return nodejs.GeneratePackage(tool, pkg, nil, nil, false, noOtherPackages{})
	},
	"go": func(pkg *schema.Package) (map[string][]byte, error) {
		files, err := gogen.GeneratePackage(tool, pkg, nil)
		if err != nil {
			return nil, err
		}
		mod, err := goMod(pkg)
		if err != nil {
			return nil, err
		}
		files["go.mod"] = mod
		return files, nil
	},
	"python": func(pkg *schema.Package) (map[string][]byte, error) {
		return python.GeneratePackage(tool, pkg, nil, noOtherPackages{})
	},
}

// goMod is the Go SDK's go.mod, which the generator leaves to the language host:
// the schema's module path, requiring the Pulumi Go SDK this tool was built with
// (the generated code is written for it).
func goMod(pkg *schema.Package) ([]byte, error) {
	info, ok := pkg.Language["go"].(gogen.GoPackageInfo)
	if !ok || info.ModulePath == "" {
		return nil, errors.New("the schema's language.go has no modulePath")
	}
	build, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, errors.New("no build information: cannot tell the Pulumi Go SDK version")
	}
	for _, dep := range build.Deps {
		if dep.Path == sdkModule {
			return []byte(fmt.Sprintf("module %s\n\ngo 1.24\n\nrequire %s %s\n", info.ModulePath, sdkModule, dep.Version)), nil
		}
	}
	return nil, fmt.Errorf("%s is not among this tool's dependencies", sdkModule)
}

func bind(path string) (*schema.Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noOtherPackages{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", path, diags.Error())
	}
	return pkg, nil
}

// write replaces dir with exactly these files.
func write(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		target := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func run(schemaPath, out string, languages []string) error {
	for _, lang := range languages {
		generate, ok := generators[lang]
		if !ok {
			return fmt.Errorf("unknown language %q: this tool writes nodejs, go and python", lang)
		}
		// Each generator records its own options on the package: bind afresh.
		pkg, err := bind(schemaPath)
		if err != nil {
			return err
		}
		files, err := generate(pkg)
		if err != nil {
			return fmt.Errorf("%s: %w", lang, err)
		}
		if err := write(filepath.Join(out, lang), files); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "sdkgen: %s: %d files in %s\n", lang, len(files), filepath.Join(out, lang))
	}
	return nil
}

func main() {
	schemaPath := flag.String("schema", "schema.json", "the package schema")
	out := flag.String("out", "sdk", "the folder that gets one folder per language")
	languages := flag.String("languages", "nodejs,go,python", "comma-separated: nodejs, go, python")
	flag.Parse()
	if err := run(*schemaPath, *out, strings.Split(*languages, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "sdkgen: %v\n", err)
		os.Exit(1)
	}
}
