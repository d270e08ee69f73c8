/**
 * Typed option declarations. A job type declares each option once, with its kind, range and default; the
 * service validates requests from these declarations, the OpenAPI document and `realconv convert --help`
 * describe them, and a runner receives `OptionValues<its declarations>` with the defaults applied
 * (glTF-Transform's `XOptions` + `X_DEFAULTS`, as data).
 */
import { CrsError, parseCrs } from "@realconv/formats";
import { epsgDefinitions } from "@realconv/formats/crs";

interface OptionBase {
  /** One sentence for the API reference and the CLI help. */
  readonly description: string;
}

export interface EnumOption<V extends string = string> extends OptionBase {
  readonly kind: "enum";
  readonly values: readonly V[];
  readonly default?: V;
}

export interface IntegerOption extends OptionBase {
  readonly kind: "integer";
  readonly minimum: number;
  readonly maximum: number;
  readonly default?: number;
  /** A value clients send to mean "choose from the data" (v1's -1 for tile levels): read as omitted. */
  readonly automatic?: number;
}

export interface NumberOption extends OptionBase {
  readonly kind: "number";
  /** Values must be greater than this. */
  readonly greaterThan: number;
  /** What the number counts, for messages ("metres"). */
  readonly unit: string;
  readonly default?: number;
}

/** A coordinate reference system: EPSG code (compound too), WKT or PROJ string; checked when the job is created. */
export interface CrsOption extends OptionBase {
  readonly kind: "crs";
  readonly maxLength: number;
}

/** A colour written #RRGGBB. */
export interface ColorOption extends OptionBase {
  readonly kind: "color";
  readonly default?: string;
}

/** A non-blank text of bounded length. */
export interface TextOption extends OptionBase {
  readonly kind: "text";
  readonly maxLength: number;
}

export type OptionDeclaration = EnumOption | IntegerOption | NumberOption | CrsOption | ColorOption | TextOption;
export type OptionDeclarations = Readonly<Record<string, OptionDeclaration>>;

type ValueOf<D> = D extends EnumOption<infer V> ? V : D extends IntegerOption | NumberOption ? number : string;
type WithDefault<D extends OptionDeclarations> = { [K in keyof D]: D[K] extends { default: unknown } ? K : never }[keyof D];

/** The options a runner receives: declared defaults applied, the others optional. */
export type OptionValues<D extends OptionDeclarations> = { readonly [K in WithDefault<D>]: ValueOf<D[K]> } & {
  readonly [K in Exclude<keyof D, WithDefault<D>>]?: ValueOf<D[K]>;
};

/** Builders that keep literal types (enum values, presence of a default) for `OptionValues`. */
export const option = {
  enumeration<const V extends string, const O extends { description: string; default?: NoInfer<V> }>(
    values: readonly V[],
    o: O,
  ): EnumOption<V> & O {
    return { kind: "enum", values, ...o };
  },
  integer<const O extends Omit<IntegerOption, "kind">>(o: O): IntegerOption & O {
    return { kind: "integer", ...o };
  },
  number<const O extends Omit<NumberOption, "kind">>(o: O): NumberOption & O {
    return { kind: "number", ...o };
  },
  crs(description: string): CrsOption {
    return { kind: "crs", maxLength: 2048, description };
  },
  color<const O extends Omit<ColorOption, "kind">>(o: O): ColorOption & O {
    return { kind: "color", ...o };
  },
  text(description: string, maxLength: number): TextOption {
    return { kind: "text", maxLength, description };
  },
};

export const COLOR_PATTERN = /^#[a-fA-F0-9]{6}$/;

/** Declared defaults filled in where `given` has no value (`given` holds validated, canonical values). */
export function withDefaults<D extends OptionDeclarations>(declarations: D, given: Readonly<Record<string, unknown>>): OptionValues<D> {
  const out: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(declarations)) {
    const value = given[key];
    if (value !== undefined && value !== null) out[key] = value;
    else if ("default" in decl && decl.default !== undefined) out[key] = decl.default;
  }
  return out as OptionValues<D>;
}

/** CLI flag of an option: `jpgQuality` -> `--jpg-quality`. */
export function optionFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** inputCrs and outputCrs, which every job type with geodata takes. */
export const CRS_OPTIONS = {
  inputCrs: option.crs("CRS of the input data, overriding what the files say (EPSG code, WKT or PROJ string)."),
  outputCrs: option.crs("CRS of the output data; the data is reprojected to it (default: the input's CRS)."),
} as const;

/** Why a CRS option cannot be used (unknown EPSG code, not a CRS), or undefined when it can. */
export function crsProblem(text: string): string | undefined {
  try {
    parseCrs(text, epsgDefinitions);
    return undefined;
  } catch (e) {
    if (e instanceof CrsError) return e.message;
    throw e;
  }
}
