/**
 * The URL fragment of a policy document's section heading: the id a citation points at
 * (`/docs/<document>#<slug>`). One definition for the worker, which cites sections, and the
 * gateway, which serves the pages they link to.
 */
export function sectionSlug(heading: string): string {
  return (
    heading
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'section'
  );
}
