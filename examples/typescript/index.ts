// One Zomro image from TypeScript, through the provider plugin
// (pulumi-resource-zomro) and the generated SDK (sdk/nodejs).
import * as pulumi from "@pulumi/pulumi";
import * as zomro from "@zomro-pulumi/zomro";

const config = new pulumi.Config();

const image = new zomro.Image("ubuntu", {
    imageName: config.get("imageName") ?? "Ubuntu24",
    region: config.get("region") ?? "Netherlands-2",
    url: "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    diskFormat: "iso",
    osDistro: "ubuntu",
    osVersion: "24",
    architecture: "x86_64",
    minRam: config.getNumber("minRam"),
});

export const imageId = image.imageId;
export const status = image.status;
