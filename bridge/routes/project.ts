/**
 * The one rule for keys bound to a project on the read side: they see only their project, and
 * asking for another is 403 (`forbidden_project`). `GET /query`, `/usage` and `/live` use it.
 *
 * @module
 */
import type { Principal } from "../auth.ts";
import { HttpError } from "../errors.ts";

/**
 * The projects `principal` may see when it asks for `asked` (a `project_id` filter, if any):
 * undefined for a key bound to no project, else its one project. Throws 403 when `asked` is
 * another project; `action` names what was refused, as in `Cannot ${action} project "x"`.
 */
export function visibleProjects(
  principal: Principal,
  options: { asked: string | undefined; action: string },
): string[] | undefined {
  const own = principal.projectId;
  if (own === undefined) return undefined;
  if (options.asked !== undefined && options.asked !== own) {
    throw new HttpError(
      "forbidden_project",
      `Cannot ${options.action} project "${options.asked}": key ${principal.name} may only read project "${own}"`,
      { details: { project_id: own } },
    );
  }
  return [own];
}
