/**
 * Test-only: ContextScene documents with tie points and annotations, as ContextCapture and Bentley's
 * detectors write them (no public sample has them): a BlocksExchange block with photos, poses and tie
 * points, and ContextScene JSON with Labels, Objects3D boxes and Objects2D. Deterministic.
 */

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function tiePointXml(i: number, p: readonly number[], colour: readonly number[] | undefined): string {
  const c = colour ? `<Color><Red>${colour[0]}</Red><Green>${colour[1]}</Green><Blue>${colour[2]}</Blue></Color>` : "";
  return (
    `<TiePoint><Position><x>${p[0]}</x><y>${p[1]}</y><z>${p[2]}</z></Position>${c}` +
    `<Measurement><PhotoId>${i % 4}</PhotoId><x>${(i * 7) % 5000}</x><y>${(i * 13) % 3000}</y></Measurement>` +
    `<Measurement><PhotoId>${(i + 1) % 4}</PhotoId><x>${(i * 11) % 5000}</x><y>${(i * 17) % 3000}</y></Measurement></TiePoint>`
  );
}

/** Tie points of a survey over a 600 m x 400 m site (UTM 18N around Manhattan when `srs` is a UTM zone; local metres otherwise). */
function sitePoints(n: number, local: boolean, seed = 7): Float64Array {
  const next = random(seed);
  const out = new Float64Array(3 * n);
  const [x0, y0] = local ? [0, 0] : [583000, 4507000];
  for (let i = 0; i < n; i++) {
    out[3 * i] = x0 + next() * 600;
    out[3 * i + 1] = y0 + next() * 400;
    out[3 * i + 2] = 10 + next() * 30;
  }
  return out;
}

function block(srs: string | undefined, tiePoints: string): string {
  const photos = [0, 1, 2, 3]
    .map(
      (i) =>
        `<Photo><Id>${i}</Id><ImagePath>images/IMG_${i}.JPG</ImagePath><Pose><Rotation><Omega>180</Omega><Phi>0</Phi><Kappa>${i * 90}</Kappa></Rotation>` +
        `<Center><x>${(srs ? 583000 : 0) + 150 * i}</x><y>${(srs ? 4507000 : 0) + 200}</y><z>300</z></Center></Pose></Photo>`,
    )
    .join("");
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n<BlocksExchange version="3.2">` +
    (srs ? `<SpatialReferenceSystems><SRS><Id>0</Id><Name>UTM</Name><Definition>${srs}</Definition></SRS></SpatialReferenceSystems>` : "") +
    `<Block><Name>Survey</Name>${srs ? "<SRSId>0</SRSId>" : ""}<Photogroups><Photogroup><Name>Drone</Name><ImageDimensions><Width>5472</Width><Height>3648</Height></ImageDimensions>` +
    `<FocalLength>8.8</FocalLength><SensorSize>13.2</SensorSize><PrincipalPoint><x>2736</x><y>1824</y></PrincipalPoint>${photos}</Photogroup></Photogroups>` +
    `<ControlPoints/>${tiePoints}</Block></BlocksExchange>`
  );
}

/** A BlocksExchange document with `n` tie points (colours 0..1 when `colour`); `positions` as written. */
export function blocksExchangeWithTiePoints(n: number, o: { srs: string | undefined; colour: boolean }): { xml: string; positions: Float64Array } {
  const positions = sitePoints(n, !o.srs);
  const next = random(99);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const colour = o.colour ? [next(), next(), next()].map((c) => c.toFixed(4)) : undefined;
    parts.push(tiePointXml(i, [positions[3 * i].toFixed(4), positions[3 * i + 1].toFixed(4), positions[3 * i + 2].toFixed(4)].map(Number), colour?.map(Number)));
  }
  // The container's own SRS id comes before the points, as ContextCapture writes it.
  return { xml: block(o.srs, `<TiePoints>${o.srs ? "<SRSId>0</SRSId>" : ""}${parts.join("")}</TiePoints>`), positions };
}

/** A BlocksExchange document whose tie points are in `CCOrientations - Tiepoints.xml` (`body`), local coordinates. */
export function tiePointFile(n: number): { xml: string; body: string } {
  const positions = sitePoints(n, true, 3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(tiePointXml(i, [positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]], [0.5, 0.25, 1]));
  return { xml: block(undefined, "<TiePoints><Path>CCOrientations - Tiepoints.xml</Path></TiePoints>"), body: `<?xml version="1.0" encoding="utf-8"?>\n${parts.join("\n")}` };
}

export interface SceneObject {
  id: string;
  label: string;
  confidence: number;
}

/**
 * ContextScene JSON (`version` 5.0 or 6.0) with Labels, `objects3D` 3D objects over a UTM 18N site (every
 * third one an oriented box turned about z) and 2D detections in `photos2D` photos; `objects` lists the 3D
 * objects with their label name and confidence.
 */
export function annotatedScene(objects3D: number, photos2D: number, version = "6.0", srs = "EPSG:32618"): { json: string; objects: SceneObject[] } {
  const labels: Record<string, { Name: string }> = { "1": { Name: "car" }, "2": { Name: "pole" }, "7": { Name: "traffic sign" } };
  const labelIds = Object.keys(labels);
  const next = random(5);
  const objects: SceneObject[] = [];
  const o3d: Record<string, unknown> = {};
  for (let i = 0; i < objects3D; i++) {
    const labelId = labelIds[i % labelIds.length];
    const confidence = Math.round((0.5 + next() / 2) * 1000) / 1000;
    const [x, y, z] = [583000 + next() * 2000, 4507000 + next() * 1500, 10 + next() * 5];
    const [w, d, h] = [1 + next() * 4, 1 + next() * 2, 0.5 + next() * 3];
    const LabelInfo = { Confidence: confidence, LabelId: Number(labelId) };
    if (i % 3 === 2) {
      const kappa = next() * Math.PI;
      o3d[String(i)] = { LabelInfo, Box3D: { Center: { x, y, z }, Dimensions: { x: w, y: d, z: h }, Rotation: { omega: 0, phi: 0, kappa } } };
    } else {
      o3d[String(i)] = { LabelInfo, Box3D: { xmin: x, ymin: y, zmin: z, xmax: x + w, ymax: y + d, zmax: z + h } };
    }
    objects.push({ id: String(i), label: labels[labelId].Name, confidence });
  }
  const o2d: Record<string, unknown> = {};
  for (let p = 0; p < photos2D; p++) {
    o2d[String(p)] = {
      "0": { LabelInfo: { Confidence: 0.9, LabelId: 1 }, Box2D: { xmin: 10, ymin: 20, xmax: 200, ymax: 180 } },
      "1": { LabelInfo: { Confidence: 0.7, LabelId: 2 }, Box2D: { xmin: 400, ymin: 50, xmax: 430, ymax: 600 } },
    };
  }
  const photos: Record<string, unknown> = {};
  for (let p = 0; p < photos2D; p++) photos[String(p)] = { ImagePath: `0:IMG_${p}.JPG` };
  const scene = {
    version,
    SpatialReferenceSystems: { "0": { Definition: srs } },
    PhotoCollection: { SRSId: 0, Photos: photos },
    Annotations: { Labels: labels, ...(objects3D > 0 ? { Objects3D: o3d } : {}), ...(photos2D > 0 ? { Objects2D: o2d } : {}) },
    References: { "0": { Path: "images" } },
  };
  return { json: JSON.stringify(scene, null, 1), objects };
}
