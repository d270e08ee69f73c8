/** The part of draco3dgltf (no bundled types) the glTF reader uses: the decoder module factory. */
declare module "draco3dgltf" {
  const draco3d: { createDecoderModule(options?: object): Promise<unknown>; createEncoderModule(options?: object): Promise<unknown> };
  export default draco3d;
}
