/** A script's command-line flags (`--short`) and options (`--orders 300`). */
export function commandLine(args = process.argv.slice(2)) {
  return {
    flag: (name: string) => args.includes(`--${name}`),
    option: (name: string): string | undefined => {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : undefined;
    },
  };
}
