"use strict";
// What the job page says to an operator: nothing that will never come is promised "yet",
// a duplicate is "already sent" with its first job, a failed job says which rerun fixed it,
// and facts that do not apply to the file (a rejected one was never read) are left out.
import { el, formatWhen, getJson, url } from "./common.js";

export const FINISHED = new Set(["done", "failed", "rejected", "duplicate"]);

const jobLink = (id) => el("a", { href: url(`jobs/${id}`) }, `#${id}`);

// Whether the file was read as a plate PDF (a rejected one was not).
export function analysed(job) {
  return job.state !== "rejected" && job.complects !== null && job.complects !== undefined;
}

export function noProofText(job) {
  if (!FINISHED.has(job.state)) return "No proof yet.";
  return analysed(job) ? "No proof was made for this file." : "No proof: the file was not read.";
}

export function notAnalysedText(job) {
  if (!FINISHED.has(job.state)) return "Not analysed yet.";
  return "Not analysed: the file was not read as a plate PDF.";
}

// "Already sent as #12 on 3 Mar 14:05" and "Fixed by #24": the jobs this one is tied to.
export async function relatedWords(job, rerunBy) {
  const words = [];
  if (job.duplicate_of) {
    const first = await getJson(url(`api/jobs/${job.duplicate_of}`)).catch(() => null);
    const at = first?.job.finished_at || first?.job.created_at;
    words.push(el("span", { className: "duplicate-note" }, "Already sent as ",
      jobLink(job.duplicate_of), at ? ` ${formatWhen(at)}` : "", ". "));
  }
  const reruns = await Promise.all(
    (rerunBy || []).map((id) => getJson(url(`api/jobs/${id}`)).catch(() => null)));
  const fixedBy = reruns.find((rerun) => rerun?.job.state === "done")?.job.id;
  if (fixedBy && (job.state === "failed" || job.state === "rejected")) {
    words.push(el("span", { className: "fixed-note" }, "Fixed by ", jobLink(fixedBy), ". "));
  }
  return words;
}

// The technical reason of a duplicate (the checksum, the setting), for the folded Details.
export function duplicateDetails(job) {
  if (job.state !== "duplicate" || !job.error) return [];
  return [el("p", {}, job.error)];
}
