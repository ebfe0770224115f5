import { ImageError } from "../errors.js";
import { parseRegistryReference } from "../image/reference.js";
import { openRegistryImage } from "../image/registry/image.js";
import type { Platform, RegistryOptions, ResolvedImage } from "../image/types.js";
import { evaluatePolicy } from "../policy/evaluate.js";
import { globMatch } from "../policy/glob.js";
import { imageConfigFacts, type ImageConfigFacts } from "../policy/image-config.js";
import { registryTrust, trustViolations, wantsSignatureCheck } from "../policy/trust-rules.js";
import type { Policy } from "../policy/types.js";
import { neutralizeLog } from "../report/neutralize.js";
import type { ScanResult } from "../result.js";
import { lookUpSignatures, scanImage } from "../scan.js";
import type { InventoryStore } from "../store/types.js";
import { STOWAWAY_VERSION } from "../version.js";
import { severityRank } from "../report/severity.js";
import { podImages, type AdmissionRequest, type AdmissionResponseBody, type ContainerImage } from "./review.js";

/** Below the API server's default webhook timeout (10 s), so the webhook answers before it gives up. */
export const DEFAULT_ADMISSION_TIMEOUT_MS = 8000;
export const DEFAULT_VERDICT_CACHE_TTL_MS = 5 * 60 * 1000;
const TOP_FINDINGS = 3;

export interface AdmissionOptions {
  policy: Policy;
  /** Compiled vulnerability database directory; without one only trust and image rules apply. */
  database?: string;
  /** Stored results by manifest digest (`stowaway registry scan` fills it); scans made here are added. */
  store?: InventoryStore;
  registry?: RegistryOptions;
  platform?: Platform;
  cacheDir?: string | false;
  timeoutMs?: number;
  /** Allow (with a warning) when an image cannot be judged in time or at all; default: deny (fail closed). */
  failOpen?: boolean;
  exemptNamespaces?: string[];
  /** Image reference globs (`registry.internal/*`, `*@sha256:...`) admitted without checks. */
  exemptImages?: string[];
  cacheTtlMs?: number;
  now?: () => Date;
  /** One line per decision, already neutralised. */
  log?: (line: string) => void;
}

/** An image known only by reference and digest: what trust rules need and nothing more. */
function unscannedResult(reference: string, manifestDigest: string): ScanResult {
  return {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: {
      reference,
      manifestDigest,
      configDigest: "",
      platform: { os: "", architecture: "" },
      os: { family: "unknown" },
      layers: [],
    },
    packages: [],
    warnings: [],
  };
}

/** What was decided for one image. */
export interface ImageJudgement {
  image: string;
  allowed: boolean;
  /** Why it was denied (or, when allowed, what to warn about). */
  message?: string;
  /**
   * The same reason split for AdmissionReview `warnings`, which the API server truncates past 256
   * characters each: the rules and reason, then one line per top finding.
   */
  warningLines?: string[];
  /** How it was answered: cache, store, scan, trust (before any pull), exempt, dry-run, error. */
  via: "cache" | "store" | "scan" | "trust" | "exempt" | "dry-run" | "error" | "timeout";
}

interface CacheEntry {
  judgement: ImageJudgement;
  expires: number;
}

/** What a resolved digest was found to be: judged again for each reference (its rules may name it). */
interface DigestEntry {
  result: ScanResult;
  imageConfig?: ImageConfigFacts;
  expires: number;
}

/**
 * The admission decision (docs/admission.md): which images a workload runs, whether each comes from a
 * trusted registry, carries a verified signature and passes the policy, answered from the verdict cache,
 * the store, or a scan within the timeout. HTTP lives in server.ts; this holds no sockets.
 */
export class AdmissionController {
  /** Verdicts by image reference as the pod names it: a repeat needs no registry request at all. */
  private readonly cache = new Map<string, CacheEntry>();
  /**
   * Scan results by the digest a reference resolved to (plus the repository when signatures are
   * checked: a signature is looked up, and its claims checked, per repository), shared by every tag
   * and digest reference that resolves to it.
   */
  private readonly digests = new Map<string, DigestEntry>();
  private readonly inFlight = new Map<string, Promise<ImageJudgement>>();
  /** Scans running now, by digest key: references that resolve to one digest share one scan. */
  private readonly scanning = new Map<
    string,
    Promise<{ result: ScanResult; imageConfig: ImageConfigFacts | undefined }>
  >();
  private readonly timeoutMs: number;
  private readonly ttl: number;
  /** The webhook's own timeout (ms). */
  get timeout(): number {
    return this.timeoutMs;
  }
  private readonly now: () => Date;

  constructor(private readonly options: AdmissionOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ADMISSION_TIMEOUT_MS;
    this.ttl = options.cacheTtlMs ?? DEFAULT_VERDICT_CACHE_TTL_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** Answers one AdmissionReview request. Never throws: failures follow fail-open / fail-closed. */
  async review(request: AdmissionRequest, timeoutMs = this.timeoutMs): Promise<AdmissionResponseBody> {
    const allow: AdmissionResponseBody = { uid: request.uid, allowed: true };
    if (request.operation !== "CREATE" && request.operation !== "UPDATE") return allow;
    const images = podImages(request.kind.kind, request.object);
    if (!images || images.length === 0) return allow;
    if (request.namespace && (this.options.exemptNamespaces ?? []).includes(request.namespace)) return allow;

    const unique = new Map<string, ContainerImage[]>();
    for (const entry of images) unique.set(entry.image, [...(unique.get(entry.image) ?? []), entry]);
    const deadline = Date.now() + timeoutMs;
    const judgements = await Promise.all(
      [...unique.keys()].map((image) => this.judge(image, request.dryRun, deadline)),
    );

    const denied: string[] = [];
    const warnings: string[] = [];
    for (const judgement of judgements) {
      const where = unique
        .get(judgement.image)!
        .map((entry) => entry.container)
        .join(", ");
      if (!judgement.allowed) denied.push(`${judgement.message} [${where}]`);
      else if (judgement.warningLines) {
        const [headline, ...details] = judgement.warningLines;
        // The containers come before the reason, so a cut at 256 characters only shortens the reason.
        warnings.push(
          `image ${judgement.image} [${where}] ${headline}`,
          ...details.map((detail) => `${judgement.image}: ${detail}`),
        );
      } else if (judgement.message) warnings.push(`${judgement.message} [${where}]`);
    }
    const response: AdmissionResponseBody =
      denied.length > 0
        ? {
            uid: request.uid,
            allowed: false,
            status: { code: 403, reason: "Forbidden", message: neutralizeLog(`Stowaway: ${denied.join("; ")}`) },
          }
        : allow;
    if (warnings.length > 0) response.warnings = boundedWarnings(warnings);
    const what = `${request.kind.kind} ${request.namespace ?? ""}/${request.name ?? ""}`;
    this.options.log?.(
      neutralizeLog(
        `admission ${request.uid} ${what}: ${response.allowed ? "allowed" : "denied"} (${judgements.map((j) => `${j.image} via ${j.via}`).join(", ")})`,
      ),
    );
    return response;
  }

  /** One image, within the request's deadline. */
  async judge(image: string, dryRun: boolean, deadline: number): Promise<ImageJudgement> {
    if ((this.options.exemptImages ?? []).some((pattern) => globMatch(pattern, image))) {
      return { image, allowed: true, via: "exempt" };
    }
    const cached = this.cache.get(image);
    if (cached && cached.expires > Date.now()) return { ...cached.judgement, via: "cache" };

    const { policy } = this.options;
    const trust = registryTrust(image, policy.trust?.registries);
    if (trust.kind === "denied") {
      const judgement = this.fromViolation(image, trust.violation.rule, trust.violation.message, "trust");
      this.remember(judgement);
      return judgement;
    }

    let work = this.inFlight.get(image);
    if (!work) {
      work = this.evaluate(image, dryRun).catch((error: unknown) => this.failure(image, error));
      if (!dryRun) {
        this.inFlight.set(image, work);
        // A scan that outlives its request still fills the cache, so the API server's retry is answered.
        void work.then((judgement) => {
          this.inFlight.delete(image);
          if (judgement.via !== "error") this.remember(judgement);
        });
      }
    }
    const remaining = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ImageJudgement>((resolve) => {
      timer = setTimeout(
        () => resolve(this.unjudged(image, `not checked within ${Math.round(this.timeoutMs / 1000)} s`, "timeout")),
        remaining,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private remember(judgement: ImageJudgement): void {
    this.cache.set(judgement.image, { judgement, expires: Date.now() + this.ttl });
    // Bounded: expired entries go when the maps grow (a cluster runs a few thousand images at most).
    if (this.cache.size > 10_000) this.sweep();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.cache) if (entry.expires <= now) this.cache.delete(key);
    for (const [key, entry] of this.digests) if (entry.expires <= now) this.digests.delete(key);
  }

  private digestKey(image: string, ref: { registry: string; repository: string }, digest: string): string {
    return wantsSignatureCheck(image, this.options.policy.trust)
      ? `${digest} ${ref.registry}/${ref.repository}`
      : digest;
  }

  /** The policy over a known result, for this reference. */
  private judgeResult(
    image: string,
    result: ScanResult,
    imageConfig: ImageConfigFacts | undefined,
    via: ImageJudgement["via"],
  ): ImageJudgement {
    const referenced: ScanResult = { ...result, artifact: { ...result.artifact, reference: image } };
    referenced.policy = evaluatePolicy(referenced, this.options.policy, {
      now: this.now(),
      ...(imageConfig ? { imageConfig } : {}),
    });
    return this.fromResult(image, referenced, via);
  }

  /** Resolves the tag to a digest, then the stored verdict or a scan (never on dry runs). */
  private async evaluate(image: string, dryRun: boolean): Promise<ImageJudgement> {
    const { policy } = this.options;
    const ref = parseRegistryReference(image);
    const opened = await openRegistryImage(ref, {
      reference: image,
      ...(this.options.platform ? { platform: this.options.platform } : {}),
      ...(this.options.registry ? { registry: this.options.registry } : {}),
    });
    try {
      // The tag resolved to a digest: another reference to it may have been judged already.
      const key = this.digestKey(image, ref, opened.manifestDigest);
      const known = this.digests.get(key);
      if (known && known.expires > Date.now()) return this.judgeResult(image, known.result, known.imageConfig, "cache");
      const now = this.now();
      const options = { policy, now, ...(this.options.registry ? { registry: this.options.registry } : {}) };
      const signature = wantsSignatureCheck(image, policy.trust)
        ? await lookUpSignatures(ref, image, opened, options)
        : undefined;
      const stored = await this.options.store?.getImage(opened.manifestDigest);
      if (stored && (stored.result.findings !== undefined || this.options.database === undefined)) {
        const result: ScanResult = { ...stored.result, ...(signature ? { signature } : {}) };
        if (!dryRun) this.rememberDigest(key, result, stored.imageConfig);
        return this.judgeResult(image, result, stored.imageConfig, "store");
      }
      if (dryRun) {
        // Trust is judged from the registry alone; only the scan is skipped.
        const violation = trustViolations(
          { ...unscannedResult(image, opened.manifestDigest), ...(signature ? { signature } : {}) },
          policy.trust,
          [],
        )[0];
        if (violation) return this.fromViolation(image, violation.rule, violation.message, "dry-run");
        return {
          image,
          allowed: true,
          via: "dry-run",
          message: `${image} was not scanned: dry-run requests never scan`,
        };
      }
      // Another reference (a second tag, or the digest itself) may be scanning this digest right now:
      // wait for that scan instead of pulling and scanning the same layers twice.
      const running = this.scanning.get(key);
      if (running) {
        const shared = await running;
        return this.judgeResult(image, shared.result, shared.imageConfig, "scan");
      }
      // ...or have finished it while this request was reading the store.
      const done = this.digests.get(key);
      if (done && done.expires > Date.now()) return this.judgeResult(image, done.result, done.imageConfig, "cache");
      const scan = this.scanAndStore(image, opened, now, signature);
      this.scanning.set(key, scan);
      try {
        const { result, imageConfig } = await scan;
        this.rememberDigest(key, result, imageConfig);
        return this.fromResult(image, result, "scan");
      } finally {
        this.scanning.delete(key);
      }
    } finally {
      await opened.close();
    }
  }

  /** Scans a resolved image and records the result in the store (when there is one). */
  private async scanAndStore(
    image: string,
    opened: ResolvedImage,
    now: Date,
    signature: ScanResult["signature"] | undefined,
  ): Promise<{ result: ScanResult; imageConfig: ImageConfigFacts | undefined }> {
    const { policy } = this.options;
    const options = { policy, now, ...(this.options.registry ? { registry: this.options.registry } : {}) };
    const result = await scanImage(opened, {
      ...options,
      ...(signature ? { signature } : {}),
      ...(this.options.database ? { database: this.options.database } : {}),
      cacheDir: this.options.cacheDir ?? false,
    });
    if (this.options.store) {
      const at = now.toISOString();
      await this.options.store.putImage(
        {
          digest: opened.manifestDigest,
          result,
          imageConfig: imageConfigFacts(opened.config),
          ...(result.database ? { dbBuiltAt: result.database.builtAt } : {}),
          firstScanned: at,
          lastMatched: at,
        },
        result.policy,
      );
      await this.options.store.flush();
    }
    return { result, imageConfig: imageConfigFacts(opened.config) };
  }

  private rememberDigest(key: string, result: ScanResult, imageConfig: ImageConfigFacts | undefined): void {
    this.digests.set(key, { result, ...(imageConfig ? { imageConfig } : {}), expires: Date.now() + this.ttl });
  }

  private fromViolation(image: string, rule: string, message: string, via: ImageJudgement["via"]): ImageJudgement {
    const text = `image ${image} violates ${rule}: ${message}`;
    return this.options.policy.mode === "warn"
      ? { image, allowed: true, via, message: text }
      : { image, allowed: false, via, message: text };
  }

  /** A verdict a kubectl user understands: the image, the rules, the first reason and the worst findings. */
  private fromResult(image: string, result: ScanResult, via: ImageJudgement["via"]): ImageJudgement {
    const verdict = result.policy!;
    if (verdict.violations.length === 0) return { image, allowed: true, via };
    const rules = [...new Set(verdict.violations.map((violation) => violation.rule))];
    const gating = new Set(verdict.violations.flatMap((violation) => violation.findingIds));
    const top = (result.findings ?? [])
      .filter((finding) => gating.has(finding.findingId))
      .sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
      .slice(0, TOP_FINDINGS)
      .map(
        (finding) =>
          `${finding.id} (${finding.severity}) in ${finding.packageName} ${finding.installedVersion}${finding.fixedVersion ? `, fixed in ${finding.fixedVersion}` : ""}`,
      );
    const reason = verdict.violations.find((violation) => violation.findingIds.length === 0) ?? verdict.violations[0]!;
    const findings =
      top.length > 0
        ? `; top findings: ${top.join(", ")}${gating.size > top.length ? ` and ${gating.size - top.length} more` : ""}`
        : "";
    const text = `image ${image} (${result.artifact.manifestDigest}) violates ${rules.join(", ")}: ${reason.message}${findings}`;
    if (verdict.outcome === "fail") return { image, allowed: false, via, message: text };
    const more = gating.size > top.length ? [`and ${gating.size - top.length} more findings`] : [];
    const warningLines = [`violates ${rules.join(", ")}: ${reason.message}`, ...top, ...more];
    return { image, allowed: true, via, message: text, warningLines };
  }

  private unjudged(image: string, why: string, via: ImageJudgement["via"]): ImageJudgement {
    return this.options.failOpen
      ? { image, allowed: true, via, message: `image ${image} admitted unchecked (fail-open): ${why}` }
      : { image, allowed: false, via, message: `image ${image} could not be checked (fail-closed): ${why}` };
  }

  private failure(image: string, error: unknown): ImageJudgement {
    const message = error instanceof ImageError || error instanceof Error ? error.message : String(error);
    return this.unjudged(image, message, "error");
  }
}

/**
 * The API server truncates a warning past 256 characters and ignores warnings past 4096 in all
 * (Kubernetes "Admission webhook warnings"): each line is cut to fit, and lines that would pass the
 * total are replaced by one saying how many were left out.
 */
export const MAX_WARNING_CHARS = 256;
export const MAX_WARNINGS_TOTAL = 4096;

export function boundedWarnings(lines: string[]): string[] {
  const out: string[] = [];
  let total = 0;
  for (const [index, line] of lines.entries()) {
    let text = neutralizeLog(`Stowaway: ${line}`);
    if (text.length > MAX_WARNING_CHARS) text = `${text.slice(0, MAX_WARNING_CHARS - 1)}…`;
    const rest = lines.length - index;
    const omitted = `Stowaway: ${rest} more warnings left out (AdmissionReview limit)`;
    if (total + text.length + (rest > 1 ? omitted.length : 0) > MAX_WARNINGS_TOTAL) {
      out.push(omitted);
      break;
    }
    out.push(text);
    total += text.length;
  }
  return out;
}
