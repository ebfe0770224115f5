import { renderReport, type ScanResult, type Severity } from "@stowaway/core";

/** GitLab rejects notes over 1,000,000 characters. */
export const GITLAB_NOTE_LIMIT = 1_000_000;

/** Hidden in the rendered note; how a later run finds the note to update instead of adding another. */
export function noteMarker(key?: string): string {
  return key ? `<!-- stowaway-scan:${key} -->` : "<!-- stowaway-scan -->";
}

export interface NoteOptions {
  severity?: Severity;
  /** Link for readers of a truncated note (the job's HTML report artifact). */
  fullReportUrl?: string;
  /** Separates the notes of several scan jobs in one merge request pipeline. */
  key?: string;
}

export function noteBody(result: ScanResult, options: NoteOptions = {}): string {
  const marker = noteMarker(options.key);
  // The budget is in UTF-8 bytes, which are never fewer than characters, so the note stays under GitLab's limit.
  const markdown = renderReport("markdown", result, {
    markdownBudget: GITLAB_NOTE_LIMIT - Buffer.byteLength(marker) - 1,
    // A note has room for far more than a PR comment, but past a thousand rows nobody reads on.
    markdownTopFindings: 1_000,
    ...(options.severity ? { minSeverity: options.severity } : {}),
    ...(options.fullReportUrl ? { fullReportUrl: options.fullReportUrl } : {}),
  });
  return `${marker}\n${markdown}`;
}

/** The slice of gitbeaker's MergeRequestNotes the upsert needs; tests and callers pass the real one. */
export interface NotesApi {
  all(projectId: string | number, mergeRequestIid: number): Promise<{ id: number; body: string; system?: boolean }[]>;
  create(projectId: string | number, mergeRequestIid: number, body: string): Promise<{ id: number }>;
  edit(
    projectId: string | number,
    mergeRequestIid: number,
    noteId: number,
    options: { body: string },
  ): Promise<unknown>;
}

export interface NoteTarget {
  projectId: string | number;
  mergeRequestIid: number;
}

/** One note per merge request (and key): updated in place on every pipeline rather than piling up. */
export async function upsertNote(
  api: NotesApi,
  target: NoteTarget,
  body: string,
  marker: string,
): Promise<{ action: "created" | "updated"; id: number }> {
  const notes = await api.all(target.projectId, target.mergeRequestIid);
  const ours = notes.find((note) => !note.system && note.body.includes(marker));
  if (ours) {
    await api.edit(target.projectId, target.mergeRequestIid, ours.id, { body });
    return { action: "updated", id: ours.id };
  }
  const created = await api.create(target.projectId, target.mergeRequestIid, body);
  return { action: "created", id: created.id };
}
