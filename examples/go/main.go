// One Zomro image from Go, through the provider plugin (pulumi-resource-zomro)
// and the generated SDK (sdk/go).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/zomro-pulumi/zomro-pulumi/sdk/go/zomro"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		conf := config.New(ctx, "")
		name := conf.Get("imageName")
		if name == "" {
			name = "Ubuntu24"
		}
		image, err := zomro.NewImage(ctx, "ubuntu", &zomro.ImageArgs{
			ImageName:    pulumi.String(name),
			Region:       pulumi.String("Netherlands-2"),
			Url:          pulumi.String("https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso"),
			DiskFormat:   pulumi.String("iso"),
			OsDistro:     pulumi.String("ubuntu"),
			OsVersion:    pulumi.String("24"),
			Architecture: pulumi.String("x86_64"),
		})
		if err != nil {
			return err
		}
		ctx.Export("imageId", image.ImageId)
		ctx.Export("status", image.Status)
		return nil
	})
}
