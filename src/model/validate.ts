// Shape checks come from the JSON Schema shipped in schema/ (one list of keys,
// shared with editors); the checks across keys and uplinks are written here.
import type { ErrorObject } from "ajv";
import schemaValidator from "./schema-validator.generated.js";
import { dirname, isAbsolute, join } from "node:path";
import { ModelError, formatPath, type ModelIssue } from "../errors.js";
import { listPath, parsePrefixList, readListText } from "./lists.js";
import type { LoadedModel, PathSeg } from "./load.js";
import { clip, contains, isLinkLocal, networkOrBroadcast, notAHost, overlaps, parseInterfaceCidr, parseIp, parsePrefix } from "./addr.js";
import { LEARNED_FAMILY, type Cidr, type HealthCheck, type Family, type Gateway, type Lan, type Learned, type LearnedSource, type Model, type Prefix, type UidRange, type Uplink } from "./types.js";
import { hasFamily, learns, routable } from "./uplink.js";
import { hasPassThrough, mergePassThrough, parsePassThrough, type RawPassThrough } from "./passthrough.js";

export const MAX_ISSUES = 20;
export const RESERVED_TABLE_IDS = [0, 253, 254, 255];
export const RESERVED_TABLE_NAMES = ["unspec", "default", "main", "local", "gen-hooks-healthy"];
export const IFPLUGD_DEFAULTS = { delayUp: 0, delayDown: 10 };
// loss 100 %/99 %: the loss counts out of the way, as before loss-down and loss-up existed;
// hold 3 s: a link back for a moment or two does not pull the traffic back each time
/** failback: keep marks the connections of the n-th such backup 0x80000000 + n * 0x01000000 (the top byte, ct mark and fwmark); the model's own marks stay below. */
export const KEEP_MARK_BASE = 0x80000000;
export const KEEP_MARK_MASK = 0xff000000;
export const CHECK_DEFAULTS = { interval: 0.2, down: 4, up: 4, lossDown: 100, lossUp: 99, hold: 3 };
const RESERVED_INTERFACES: Record<string, string> = {
  all: "net.ipv4.conf.all is the setting of every interface of the host",
  default: "net.ipv4.conf.default is the setting of interfaces created later",
  lo: "the loopback interface; ifupdown and networkd already configure it",
};


export function validateModel(loaded: LoadedModel): Model {
  if (!schemaValidator(loaded.data)) {
    const issues = shapeIssues(loaded, schemaValidator.errors ?? []);
    throw new ModelError(issues.slice(0, MAX_ISSUES), loaded.text);
  }
  const issues: ModelIssue[] = [];
  const model = normalize(loaded, loaded.data as RawModel, issues);
  crossCheck(loaded, model, issues);
  if (issues.length > 0) throw new ModelError(sortIssues(issues).slice(0, MAX_ISSUES), loaded.text);
  return model;
}

/** In file order: the model's own issues first, then each list's. */
function sortIssues(issues: ModelIssue[]): ModelIssue[] {
  const list = (i: ModelIssue) => (i.source === undefined ? "" : i.file);
  const byFile = (a: ModelIssue, b: ModelIssue) => (list(a) < list(b) ? -1 : list(a) > list(b) ? 1 : 0);
  return [...issues].sort((a, b) => byFile(a, b) || a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}

/** Interfaces that are point-to-point by kind (ppp, tunnels, WireGuard): no neighbours, routes go 'dev IF'. */
export const POINT_TO_POINT_NAME = /^(ppp|tun|wg|gre|ip6gre|ipip|ip6tnl|sit|vti|ip6_vti|l2tp|xfrm|ipsec)/;

// ---------------------------------------------------------------- shape

function toPath(instancePath: string): PathSeg[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function shapeIssues(loaded: LoadedModel, errors: ErrorObject[]): ModelIssue[] {
  // A failed oneOf reports every branch; keep only the oneOf itself.
  const oneOfPaths = errors.filter((e) => e.keyword === "oneOf").map((e) => e.instancePath);
  const kept = errors.filter(
    (e) =>
      e.keyword !== "propertyNames" && // its key's own error says which and why
      (e.keyword === "oneOf" ||
      !oneOfPaths.some((p) => e.instancePath === p || e.instancePath.startsWith(p + "/"))),
  );
  const seen = new Set<string>();
  const issues: ModelIssue[] = [];
  for (const e of kept) {
    const issue = shapeIssue(loaded, e);
    const key = `${issue.pos.line}:${issue.pos.col}:${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return sortIssues(issues);
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number" && !Number.isFinite(value)) return "a number too large to hold";
  return clip(JSON.stringify(value));
}

function shapeIssue(loaded: LoadedModel, e: ErrorObject): ModelIssue {
  const path = toPath(e.instancePath);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const hint = parent["x-hint"] as string | undefined;
  // a key of a free-form map (pass-through settings) that its schema refuses
  if (e.propertyName !== undefined) return loaded.issue([...path, e.propertyName], `'${clip(e.propertyName)}' is not a name here: ${hint ?? e.message}`, "key");
  switch (e.keyword) {
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((parent.properties ?? {}) as object);
      const guess = didYouMean(key, allowed);
      const msg = `unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ""} Allowed: ${allowed.join(", ")}`;
      return loaded.issue([...path, key], msg, "key");
    }
    case "required": {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return loaded.issue(path, `missing required key '${key}'`);
    }
    case "const":
      return loaded.issue(path, `must be ${JSON.stringify(e.schema)}, got ${shown(e.data)}`);
    case "enum":
      return loaded.issue(path, `must be one of ${(e.schema as unknown[]).join(", ")}; got ${shown(e.data)}`);
    case "type":
      return loaded.issue(path, `must be ${article(String(e.schema))}, got ${shown(e.data)}${e.schema === "string" ? readAsPair(e.data) : ""}`);
    case "minimum":
    case "maximum":
      return loaded.issue(path, `${hint ?? `must be between ${parent.minimum ?? 0} and ${parent.maximum}`}; got ${shown(e.data)}`);
    case "minItems":
      return loaded.issue(path, `must list at least ${e.schema} item${e.schema === 1 ? "" : "s"}`);
    case "oneOf":
    case "anyOf":
    case "pattern":
    case "maxLength":
    case "minLength":
      return loaded.issue(path, `${hint ?? e.message ?? "is not valid"}; got ${shown(e.data)}`);
    default:
      return loaded.issue(path, e.message ?? "is not valid");
  }
}

/**
 * Why a mapping stands where a string was meant: YAML reads a plain item that
 * ends in ':' (an IPv6 prefix such as 2001:db8:53::) as a key with no value.
 */
function readAsPair(value: unknown): string {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "";
  const entries = Object.entries(value);
  if (entries.length !== 1 || entries[0][1] !== null) return "";
  const written = `${entries[0][0]}:`;
  return ` ('${clip(written)}': YAML reads a plain value ending in ':' as a key; quote it, "${clip(written)}")`;
}

function article(type: string): string {
  const names: Record<string, string> = { object: "a mapping", array: "a list", integer: "an integer", boolean: "true or false", string: "a string", number: "a number" };
  return names[type] ?? type;
}

/** The allowed word closest to a misspelt one, if it is close. */
export function didYouMean(word: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of allowed) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------- normalize

interface RawUplink extends RawPassThrough {
  name: string;
  interface: string;
  address: string | string[]; // CIDRs and learned sources
  gateway?: string | string[];
  onlink?: boolean;
  table?: number;
  metric?: number;
  weight?: number;
  mark?: number;
  users?: (number | string)[];
  sources?: string[];
  destinations?: string[];
  "destination-lists"?: string[];
  nat?: Uplink["nat"];
  watch?: boolean;
  check?: { targets: string[]; interval?: number; down?: number; up?: number; "loss-down"?: number; "loss-up"?: number; hold?: number };
  fallback?: boolean;
  default?: boolean;
  backup?: boolean;
  failback?: Uplink["failback"];
  hotplug?: boolean;
}
interface RawModel {
  version: 1;
  mode?: Model["mode"];
  uplinks: RawUplink[];
  lan?: ({ interface: string; address: string | string[] } & RawPassThrough)[];
  options?: { stack?: Model["options"]["stack"]; "rp-filter"?: Model["options"]["rpFilter"]; "linkdown-failover"?: boolean; ifplugd?: { "delay-up"?: number; "delay-down"?: number } };
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function normalize(loaded: LoadedModel, raw: RawModel, issues: ModelIssue[]): Model {
  const cidrs = (value: string | string[], path: PathSeg[], learned?: Learned[]): Cidr[] => {
    const out: Cidr[] = [];
    const sourceOf = new Map<Family, string>(); // what gives each family its address, for the one-source check
    /** Whether the family may take its address from source here (static addresses may be several); an issue at `at` if not. */
    const oneSource = (family: Family, source: string, at: PathSeg[]): boolean => {
      const prior = sourceOf.get(family);
      if (prior !== undefined && !(prior === STATIC && source === STATIC)) {
        issues.push(loaded.issue(at, `IPv${family} comes from ${prior} already; give one source per family: static addresses, or one of ${learnedFor(family)}`));
        return false;
      }
      sourceOf.set(family, source);
      return true;
    };
    asList(value).forEach((text, i) => {
      const at = Array.isArray(value) ? [...path, i] : path;
      if (learned && isLearnedSource(text)) {
        const family = LEARNED_FAMILY[text];
        if (oneSource(family, text, at)) learned.push({ family, source: text });
        return;
      }
      const r = parseInterfaceCidr(text);
      if (typeof r === "string") issues.push(loaded.issue(at, learned ? `${r}, or one of dhcp, slaac, ppp` : r));
      else if (oneSource(r.family, STATIC, at)) {
        writtenAt.set(r, i);
        out.push(r);
      }
    });
    return out;
  };
  const prefixes = (value: string[] | undefined, path: PathSeg[]): Prefix[] => {
    const out: Prefix[] = [];
    asList(value).forEach((text, i) => {
      const r = parsePrefix(text);
      if (typeof r === "string") issues.push(loaded.issue([...path, i], r));
      else out.push(r);
    });
    return out;
  };

  const passIssue = (at: PathSeg[], message: string) => issues.push(loaded.issue(at, message));
  const healthCheck = (c: NonNullable<RawUplink["check"]>, at: PathSeg[]): HealthCheck => {
    const targets: string[] = [];
    c.targets.forEach((text, i) => {
      const ip = parseIp(text);
      const notHost = ip && notAHost(ip, true);
      if (!ip || ip.family !== 4) issues.push(loaded.issue([...at, "targets", i], `'${clip(String(text))}' is not an IPv4 address; lsm probes IPv4 targets only (a target has no prefix length)`));
      else if (notHost) issues.push(loaded.issue([...at, "targets", i], `target ${text} ${notHost}`));
      else if (targets.includes(ip.ip.toString())) issues.push(loaded.issue([...at, "targets", i], `target ${text} is given twice`));
      else targets.push(ip.ip.toString());
    });
    const lossDown = c["loss-down"] ?? CHECK_DEFAULTS.lossDown;
    const lossUp = c["loss-up"] ?? CHECK_DEFAULTS.lossUp;
    if (lossUp >= lossDown)
      issues.push(
        loaded.issue(
          [...at, c["loss-up"] !== undefined ? "loss-up" : "loss-down"],
          `loss-up ${lossUp} % must be below loss-down ${lossDown} % (down at or above loss-down, up again at or below loss-up)${c["loss-up"] === undefined ? "; give loss-up too (its default is 99)" : ""}`,
        ),
      );
    return {
      targets,
      intervalMs: Math.round((c.interval ?? CHECK_DEFAULTS.interval) * 1000),
      down: c.down ?? CHECK_DEFAULTS.down,
      up: c.up ?? CHECK_DEFAULTS.up,
      lossDown,
      lossUp,
      hold: c.hold ?? CHECK_DEFAULTS.hold,
    };
  };
  const uplinks: Uplink[] = raw.uplinks.map((u, index) => {
    const base: PathSeg[] = ["uplinks", index];
    const gateways: Gateway[] = [];
    asList(u.gateway).forEach((text, i) => {
      const at = Array.isArray(u.gateway) ? [...base, "gateway", i] : [...base, "gateway"];
      const ip = parseIp(text);
      const notHost = ip && notAHost(ip, true);
      if (!ip) issues.push(loaded.issue(at, `'${clip(String(text))}' is not an IPv4 or IPv6 address (a gateway has no prefix length)`));
      else if (notHost) issues.push(loaded.issue(at, `gateway ${text} ${notHost}`));
      else if (gateways.some((g) => g.family === ip.family))
        issues.push(loaded.issue(at, `a second IPv${ip.family} gateway; give at most one gateway per address family`));
      else gateways.push({ family: ip.family, address: ip.ip.toString() });
    });
    const users: UidRange[] = [];
    asList(u.users).forEach((entry, i) => {
      const [from, to] = String(entry).split("-").map(Number);
      const range = { from, to: to ?? from };
      if (range.to < range.from) issues.push(loaded.issue([...base, "users", i], `uid range ${entry} is reversed; write ${range.to}-${range.from}`));
      else if (range.to > 4294967294) issues.push(loaded.issue([...base, "users", i], `uid ${range.to} is above 4294967294`));
      else users.push(range);
    });
    const learned: Learned[] = [];
    const addresses = cidrs(u.address, [...base, "address"], learned);
    const destinations = prefixes(u.destinations, [...base, "destinations"]);
    const inlineDestinations = destinations.length;
    readDestinationLists(loaded, u, base, (f) => routable({ addresses, learned, gateways }, f), destinations, issues);
    return {
      index,
      name: u.name,
      interface: u.interface,
      addresses,
      learned,
      gateways,
      onlink: u.onlink ?? false,
      table: u.table,
      metric: u.metric,
      weight: u.weight ?? 1,
      mark: u.mark,
      users,
      sources: prefixes(u.sources, [...base, "sources"]),
      destinations,
      inlineDestinations,
      nat: u.nat ?? "none",
      watch: u.watch ?? true,
      check: u.check && healthCheck(u.check, [...base, "check"]),
      fallback: u.fallback ?? true,
      default: u.default ?? true,
      backup: u.backup ?? false,
      failback: u.failback,
      hotplug: u.hotplug ?? false,
      pass: parsePassThrough(u, base, passIssue),
    };
  });
  const lan: Lan[] = (raw.lan ?? []).map((l, i) => ({
    interface: l.interface,
    addresses: cidrs(l.address, ["lan", i, "address"]),
    pass: parsePassThrough(l, ["lan", i], passIssue),
  }));
  const o = raw.options ?? {};
  return {
    file: loaded.file,
    version: 1,
    mode: raw.mode ?? "failover",
    uplinks,
    lan,
    options: {
      stack: o.stack ?? "ifupdown",
      rpFilter: o["rp-filter"] ?? "loose",
      linkdownFailover: o["linkdown-failover"] ?? true,
      // given: the host runs ifplugd (Debian 12 and older), and its settings are rendered
      ifplugd: o.ifplugd && {
        delayUp: o.ifplugd["delay-up"] ?? IFPLUGD_DEFAULTS.delayUp,
        delayDown: o.ifplugd["delay-down"] ?? IFPLUGD_DEFAULTS.delayDown,
      },
    },
  };
}

/**
 * The uplink's destination-lists, appended to its destinations in order; a
 * prefix already pinned to the uplink is not repeated (published lists
 * overlap). Families are checked here, where the list's line is known.
 */
function readDestinationLists(loaded: LoadedModel, u: RawUplink, base: PathSeg[], routable: (f: Family) => boolean, into: Prefix[], issues: ModelIssue[]): void {
  const lists = u["destination-lists"] ?? [];
  if (lists.length === 0) return;
  const seen = new Set(into.map((p) => p.text));
  lists.forEach((written, i) => {
    const at: PathSeg[] = [...base, "destination-lists", i];
    const text = readListText(listPath(loaded.file, written));
    if (typeof text !== "string") {
      issues.push(loaded.issue(at, `cannot read the list '${written}': ${text.error}`));
      return;
    }
    const shown = isAbsolute(written) ? written : join(dirname(loaded.file), written);
    const found = parsePrefixList(text, { shown, key: formatPath(at), routable, maxIssues: MAX_ISSUES }, issues);
    for (const p of found) {
      if (seen.has(p.text)) continue;
      seen.add(p.text);
      into.push(p);
    }
  });
}

const STATIC = "static addresses";
const LEARNED_SOURCES = Object.keys(LEARNED_FAMILY) as LearnedSource[];
const isLearnedSource = (text: unknown): text is LearnedSource => LEARNED_SOURCES.includes(text as LearnedSource);
const learnedFor = (f: Family) => LEARNED_SOURCES.filter((s) => LEARNED_FAMILY[s] === f).join(" or ");

/** Where each static address stands in the list the user wrote (learned words take places too). */
const writtenAt = new WeakMap<Cidr, number>();

// ---------------------------------------------------------------- across keys

/** fallback: false: the table of unreachable routes for an uplink's pinned destinations. */
export const killTableName = (uplink: string) => `${uplink}-kill`;

/** The name of the extra table holding an uplink's destination routes. */
export const destinationTableName = (uplink: string) => `${uplink}-dest`;

function crossCheck(loaded: LoadedModel, model: Model, issues: ModelIssue[]): void {
  const at = (u: Uplink, ...rest: PathSeg[]) => ["uplinks", u.index, ...rest];
  const add = (path: PathSeg[], msg: string, where?: "key") => issues.push(loaded.issue(path, msg, where));

  // Names the kernel or the stacks give another meaning.
  const reservedInterface = (name: string, path: PathSeg[]) => {
    const why = RESERVED_INTERFACES[name];
    if (why) add(path, `'${name}' is not an interface name here: ${why}`);
  };
  for (const u of model.uplinks) reservedInterface(u.interface, at(u, "interface"));
  model.lan.forEach((l, i) => reservedInterface(l.interface, ["lan", i, "interface"]));

  const names = new Map<string, Uplink>();
  for (const u of model.uplinks) {
    const prior = names.get(u.name);
    if (prior) add(at(u, "name"), `duplicate uplink name '${u.name}' (also uplinks[${prior.index}])`);
    else names.set(u.name, u);
    if (RESERVED_TABLE_NAMES.includes(u.name)) add(at(u, "name"), `'${u.name}' is a reserved routing table name; choose another name`);
  }
  for (const u of model.uplinks) {
    if (u.destinations.length > 0 && names.has(destinationTableName(u.name)))
      add(at(u, "name"), `uplink '${destinationTableName(u.name)}' clashes with the destination table of uplink '${u.name}'; rename it`);
    if (!u.fallback && u.destinations.length > 0 && names.has(killTableName(u.name)))
      add(at(u, "name"), `uplink '${killTableName(u.name)}' clashes with the kill-switch table of uplink '${u.name}'; rename it`);
  }

  // The kill switch guards what the uplink's selectors choose, and a selector-only uplink carries only that.
  for (const u of model.uplinks) {
    const selectsNone = u.users.length === 0 && u.mark === undefined && u.sources.length === 0 && u.destinations.length === 0;
    if (!u.default && selectsNone)
      add(at(u, "default"), `default: false leaves uplink '${u.name}' only the traffic its selectors choose, and it has none; give it users, mark, sources or destinations, or remove default`, "key");
    // the DHCP client and router advertisements put their own default into main
    const stackDefault = u.learned.find((l) => l.source === "dhcp" || l.source === "slaac");
    if (!u.default && stackDefault)
      add(at(u, "default"), `default: false is not supported yet with ${stackDefault.source}: the ${stackDefault.source === "dhcp" ? "DHCP client" : "kernel, from router advertisements,"} puts its own default route into the main table; it works with static addresses and ppp`, "key");
    if (!u.fallback && selectsNone)
      add(at(u, "fallback"), `fallback: false refuses the traffic uplink '${u.name}' selects while it is down, and it selects none; give it users, mark, sources or destinations, or remove fallback`, "key");
  }

  // A backup carries only what no other uplink can: selectors would send traffic through it always.
  for (const u of model.uplinks) {
    if (!u.backup) continue;
    if (!u.default) add(at(u, "backup"), `backup: true gives uplink '${u.name}' the traffic while no other uplink can carry it, and default: false takes all but its selectors' away; remove one of them`, "key");
    const selectors = [u.users.length > 0 && "users", u.mark !== undefined && "mark", u.sources.length > 0 && "sources", u.destinations.length > 0 && "destinations"].filter((x): x is string => x !== false);
    if (selectors.length > 0)
      add(at(u, "backup"), `backup uplink '${u.name}' has ${selectors.join(", ")}: a backup carries nothing while another uplink can, and selectors would send traffic through it always; give them to an uplink that is not a backup, or remove backup`, "key");
    if (u.metric !== undefined)
      add(at(u, "metric"), `backup uplink '${u.name}' takes its metric after every other uplink's (backups in list order); remove metric`, "key");
  }
  for (const u of model.uplinks)
    if (!u.backup && u.failback !== undefined) add(at(u, "failback"), `failback is what happens to a backup's connections when an uplink that is not a backup is back, and uplink '${u.name}' is not a backup; remove failback, or add backup: true`, "key");
  // failback: keep marks the backups' connections with the top bit of the mark (ct mark and fwmark)
  const keeper = model.uplinks.find((u) => u.backup && u.failback === "keep");
  if (keeper)
    for (const u of model.uplinks)
      if (u.mark !== undefined && u.mark >= KEEP_MARK_BASE)
        add(at(u, "mark"), `mark 0x${u.mark.toString(16)} is in the range failback: keep of uplink '${keeper.name}' marks its connections with (0x${KEEP_MARK_BASE.toString(16)} and up); use a mark below 0x${KEEP_MARK_BASE.toString(16)}`);
  if (model.uplinks.length > 0 && model.uplinks.every((u) => u.backup || !u.default))
    add(at(model.uplinks.find((u) => u.backup) ?? model.uplinks[0], "backup"), `no uplink but a backup carries the main default: at least one uplink must be neither backup: true nor default: false`, "key");

  // lsm probes IPv4 only, through the uplink's own IPv4 address.
  for (const u of model.uplinks)
    if (u.check && !hasFamily(u, 4)) add(at(u, "check"), `uplink '${u.name}' has no IPv4 address (static, dhcp or ppp) for its probes to leave by; lsm probes IPv4 targets only`, "key");

  // Addresses: unique across the whole host.
  const seenAddr = new Map<string, string>();
  const claim = (cidr: Cidr, path: PathSeg[], owner: string) => {
    const prior = seenAddr.get(cidr.address);
    if (prior) add(path, `address ${cidr.address} is already used by ${prior}`);
    else seenAddr.set(cidr.address, owner);
  };
  for (const u of model.uplinks) u.addresses.forEach((c, i) => claim(c, addrPath(at(u, "address"), u.addresses.length, loaded, writtenAt.get(c) ?? i), `uplink '${u.name}'`));
  model.lan.forEach((l, li) => l.addresses.forEach((c, i) => claim(c, addrPath(["lan", li, "address"], l.addresses.length, loaded, i), `lan[${li}]`)));

  // An interface is either an uplink (possibly shared by several) or a LAN.
  const uplinkIfaces = new Set(model.uplinks.map((u) => u.interface));
  const lanIfaces = new Map<string, number>();
  model.lan.forEach((l, i) => {
    if (uplinkIfaces.has(l.interface)) add(["lan", i, "interface"], `interface ${l.interface} is already an uplink; an interface is either an uplink or a LAN`);
    if (lanIfaces.has(l.interface)) add(["lan", i, "interface"], `interface ${l.interface} is listed twice under lan; list its addresses in one entry`);
    lanIfaces.set(l.interface, i);
    for (const c of l.addresses)
      for (const u of model.uplinks)
        for (const uc of u.addresses)
          if (overlaps(c.network, uc.network))
            add(["lan", i, "address"], `LAN network ${c.network} overlaps ${uc.network} of uplink '${u.name}'`);
  });

  // Gateways: family present, inside a subnet of the interface unless on-link.
  for (const u of model.uplinks) {
    u.gateways.forEach((g, i) => {
      const path = Array.isArray((loaded.data as RawModel).uplinks[u.index].gateway) ? at(u, "gateway", i) : at(u, "gateway");
      const same = u.addresses.filter((a) => a.family === g.family);
      const learnt = u.learned.find((l) => l.family === g.family);
      if (learnt) {
        add(path, learnt.source === "ppp"
          ? `a ppp link has no IPv${g.family} gateway: its routes go through the link to the peer pppd learns; remove it`
          : `the IPv${g.family} gateway is learned with the address (${learnt.source}); remove it`);
        return;
      }
      if (same.length === 0) {
        add(path, `IPv${g.family} gateway ${g.address} but the uplink has no IPv${g.family} address`);
        return;
      }
      const edge = same.map((a) => networkOrBroadcast(g.address, a.network)).find((why) => why !== undefined);
      if (same.some((a) => a.address === g.address)) add(path, `gateway ${g.address} is the uplink's own address`);
      else if (edge) add(path, `gateway ${g.address} ${edge}; a gateway is a host on the link`);
      // An IPv6 link-local gateway (fe80::1, as routers announce themselves) is on the link by definition.
      else if (!u.onlink && !isLinkLocal(g.address) && !same.some((a) => contains(a.network, g.address)))
        add(path, `gateway ${g.address} is outside ${same.map((a) => a.network).join(", ")}; fix it, or set 'onlink: true' if the provider's gateway really is on the link`);
    });
    // A forgotten gateway: routes 'dev eth1' on a broadcast link resolve every
    // internet address on the link. Without a gateway, onlink says that is meant
    // (a provider answering for every address, proxy ARP).
    const gatewayGiven = (loaded.data as RawModel).uplinks[u.index].gateway !== undefined; // a wrong one has its own message
    if (!gatewayGiven && !u.onlink && !POINT_TO_POINT_NAME.test(u.interface)) {
      const onBroadcast = u.addresses.find((a) => a.prefix < (a.family === 4 ? 32 : 128) && !learns(u, a.family));
      if (onBroadcast)
        add(at(u, "address"), `no gateway: ${u.interface} is not a point-to-point link and ${onBroadcast.network} has neighbours, so routes 'dev ${u.interface}' would look up every internet address on the link (ARP or neighbour discovery); add 'gateway: ' with the provider's router, or 'onlink: true' if the provider answers for every address (proxy ARP)`);
    }
  }

  // Selectors must have a path of their family through the uplink.
  for (const u of model.uplinks) {
    // Those from lists were checked where their line is known.
    for (let i = 0; i < u.inlineDestinations; i++) {
      const d = u.destinations[i];
      if (!routable(u, d.family)) add(at(u, "destinations", i), `IPv${d.family} destination ${d.text} but the uplink has no IPv${d.family} address and gateway`);
    }
    u.sources.forEach((s, i) => {
      if (!routable(u, s.family)) add(at(u, "sources", i), `IPv${s.family} source ${s.text} but the uplink has no IPv${s.family} address and gateway`);
    });
    if (u.nat === "snat" && !hasFamily(u, 4)) add(at(u, "nat"), "snat needs an IPv4 address on the uplink (static, dhcp or ppp); use masquerade");
  }

  // Learned addresses: the client owns the interface, so no other uplink may share it (nor a LAN, checked above).
  for (const u of model.uplinks) {
    if (u.learned.length === 0) continue;
    const sources = u.learned.map((l) => l.source).join(" and ");
    const other = model.uplinks.find((o) => o !== u && o.interface === u.interface);
    if (other) add(at(u, "interface"), `uplink '${u.name}' learns its address (${sources}) on ${u.interface}, which uplink '${other.name}' uses too; give a leased uplink an interface of its own`);
    if (u.metric === 0 && u.learned.some((l) => l.source === "slaac"))
      add(at(u, "metric"), "metric 0 cannot be given to a router learned from advertisements (the kernel's ra_defrtr_metric takes 1 or more); use 1 or more");
    if (u.learned.some((l) => l.source === "ppp") && u.addresses.length > 0)
      add(at(u, "address"), `pppd configures every address of a ppp link; give 'ppp' alone`);
  }

  // Pass-through settings: an interface pppd creates has no stanza or .network
  // file to carry them; uplinks sharing an interface must agree.
  const raws = (loaded.data as RawModel).uplinks;
  const passKey = (u: Uplink) => (raws[u.index].ifupdown !== undefined ? "ifupdown" : "networkd");
  for (const u of model.uplinks) {
    if (!hasPassThrough(u.pass)) continue;
    if (u.learned.some((l) => l.source === "ppp")) add(at(u, passKey(u)), `pppd creates ${u.interface}: no stanza or .network file carries its settings; give them in pppd's options (/etc/ppp/peers)`);
    const earlier = model.uplinks.filter((o) => o.index < u.index && o.interface === u.interface);
    const { clash } = mergePassThrough([...earlier.map((o) => o.pass), u.pass]);
    if (clash) add(at(u, passKey(u)), `${clash} differs from the value an earlier uplink on ${u.interface} gives; uplinks sharing an interface must agree`);
  }

  // Tables: explicit ids unique and not reserved.
  const tables = new Map<number, Uplink>();
  for (const u of model.uplinks) {
    if (u.table === undefined) continue;
    if (RESERVED_TABLE_IDS.includes(u.table)) add(at(u, "table"), `table ${u.table} is reserved by the kernel (0 unspec, 253 default, 254 main, 255 local); use 1-252 or 256 and above`);
    const prior = tables.get(u.table);
    if (prior) add(at(u, "table"), `table ${u.table} is already used by uplink '${prior.name}'`);
    tables.set(u.table, u);
  }

  // Metrics, marks: one uplink each.
  uniqueBy(model.uplinks, (u) => u.metric, (u, prior) => add(at(u, "metric"), `metric ${u.metric} is already used by uplink '${prior.name}'; failover order would be ambiguous`));
  uniqueBy(model.uplinks, (u) => u.mark, (u, prior) => add(at(u, "mark"), `mark 0x${u.mark!.toString(16)} is already used by uplink '${prior.name}'`));

  // uids: one uplink each.
  const uidOwners: { range: UidRange; uplink: Uplink }[] = [];
  for (const u of model.uplinks)
    u.users.forEach((r, i) => {
      const clash = uidOwners.find((o) => o.range.from <= r.to && r.from <= o.range.to);
      if (clash) add(at(u, "users", i), `uids ${fmtRange(r)} overlap ${fmtRange(clash.range)} of uplink '${clash.uplink.name}'`);
      uidOwners.push({ range: r, uplink: u });
    });

  // Sources: a LAN host or prefix goes to one uplink only.
  const sourceOwners: { prefix: Prefix; uplink: Uplink }[] = [];
  for (const u of model.uplinks)
    u.sources.forEach((s, i) => {
      const clash = sourceOwners.find((o) => overlaps(o.prefix.text, s.text));
      if (clash) add(at(u, "sources", i), `source ${s.text} overlaps ${clash.prefix.text} of uplink '${clash.uplink.name}'`);
      sourceOwners.push({ prefix: s, uplink: u });
    });
}

function addrPath(base: PathSeg[], count: number, loaded: LoadedModel, i: number): PathSeg[] {
  // address: may be a scalar or a list in the file.
  let node: unknown = loaded.data;
  for (const seg of base) node = (node as Record<string | number, unknown>)?.[seg];
  return Array.isArray(node) ? [...base, i] : count === 1 ? base : [...base, i];
}

function uniqueBy<T, K>(items: T[], key: (t: T) => K | undefined, onClash: (item: T, prior: T) => void): void {
  const seen = new Map<K, T>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const prior = seen.get(k);
    if (prior) onClash(item, prior);
    else seen.set(k, item);
  }
}

const fmtRange = (r: UidRange) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`);
