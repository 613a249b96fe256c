// The upload page's stylesheet: mobile first, light and dark from prefers-color-scheme.
// Served inline and allowed by its hash in the page's Content-Security-Policy (see ../page.ts).
// Contrast: every text colour is at least 4.5:1 on the background it sits on, in both schemes.
export const STYLE = `
:root{color-scheme:light dark;--bg:#f3f5f8;--fg:#15181d;--mut:#566070;--card:#fff;--line:#cfd5dd;--acc:#1d5bd0;--on:#fff;--soft:#e7eefb;--ok:#137333;--err:#b3261e;--track:#e3e7ed;--drop:rgba(29,91,208,.13);--lk:#1d5bd0}
@media (prefers-color-scheme:dark){:root{--bg:#0d0f13;--fg:#eceff3;--mut:#a4adba;--card:#171a20;--line:#323843;--acc:#2f6ee6;--on:#fff;--soft:#1b2638;--ok:#5bd27f;--err:#ff8b80;--track:#2a2f38;--drop:rgba(47,110,230,.22);--lk:#8ab4ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--fg);font:1.0625rem/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;padding:max(1rem,env(safe-area-inset-top)) max(1rem,env(safe-area-inset-right)) max(2rem,env(safe-area-inset-bottom)) max(1rem,env(safe-area-inset-left))}
main{max-width:42rem;margin:0 auto}
h1{font-size:1.75rem;line-height:1.2;margin:.75rem 0 .3rem}
h2{font-size:1.05rem;margin:0}
p{margin:0}
.lim{color:var(--mut);margin-bottom:1.1rem;overflow-wrap:anywhere}
.vh,.js .pick input{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
.js .nojs,html:not(.js) .js,[hidden]{display:none!important}
svg{width:1.6em;height:1.6em;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.pick{display:grid;gap:.75rem}
.btn{display:flex;align-items:center;justify-content:center;gap:.6rem;min-height:3.4rem;padding:.8rem 1rem;border-radius:16px;font-weight:650;text-align:center;cursor:pointer;-webkit-tap-highlight-color:transparent;-webkit-user-select:none;user-select:none;transition:transform .1s,background-color .15s}
.btn:active{transform:scale(.985)}
.big{flex-direction:column;gap:.35rem;min-height:min(38vh,15rem);font-size:1.3rem;background:var(--acc);color:var(--on);box-shadow:0 6px 20px -8px rgba(29,91,208,.6)}
.big svg{width:2.6rem;height:2.6rem;stroke-width:1.8}
.sub{font-size:.95rem;font-weight:500;opacity:.92}
.sec{background:var(--card);color:var(--fg);border:1px solid var(--line)}
.sec svg{color:var(--acc)}
.pick input:focus-visible+label,button:focus-visible{outline:3px solid var(--acc);outline-offset:3px}
@media (pointer:coarse){.desk{display:none!important}.m label[for=files]{min-height:3.4rem;flex-direction:row;font-size:1.05rem;background:var(--card);color:var(--fg);border:1px solid var(--line);box-shadow:none}.m label[for=files] svg{width:1.6em;height:1.6em;color:var(--acc)}}
@media not all and (pointer:coarse){.touch{display:none!important}.big{background:var(--card);color:var(--fg);border:2px dashed var(--line);box-shadow:none}.big svg{color:var(--acc)}.big:hover,.over .big{border-color:var(--acc);background:var(--soft)}.sub{color:var(--mut);opacity:1}.pick{grid-template-columns:1fr}}
.has .pick{grid-template-columns:repeat(auto-fit,minmax(min(9.5rem,100%),1fr))}
.has .big{flex-direction:row;gap:.6rem;min-height:3.4rem;font-size:1.05rem}
.has .big svg{width:1.6em;height:1.6em;stroke-width:2}
.has .sub{display:none!important}
.has h1{font-size:1.4rem}
@media (max-width:430px){.has .pick label{flex-direction:column;gap:.15rem;min-height:4.4rem;padding:.6rem .5rem;font-size:1rem}}
@media (orientation:landscape) and (max-height:540px){.big{min-height:7.5rem}.pick{grid-template-columns:repeat(auto-fit,minmax(12rem,1fr))}.pick .big{grid-row:span 2}h1{margin-top:0}}
input[type=file]{font:inherit;width:100%;padding:.9rem;border:2px dashed var(--line);border-radius:16px;background:var(--card);color:var(--fg)}
::file-selector-button{font:inherit;font-weight:600;margin-right:.8rem;padding:.6rem 1rem;border:0;border-radius:10px;background:var(--soft);color:var(--fg)}
button{font:inherit;color:inherit}
.go{min-height:3.4rem;border:0;border-radius:16px;background:var(--acc);color:var(--on);font-weight:650;font-size:1.1rem;cursor:pointer}
.alert{margin:1rem 0 0;padding:.8rem 1rem;border-radius:12px;border:1px solid var(--err);color:var(--err);background:var(--card);font-weight:600}
#queue{margin-top:1.6rem}
.sum{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:0 .75rem;min-height:2.75rem}
.sum span{display:flex;gap:1rem}
#sum{color:var(--mut);font-variant-numeric:tabular-nums}
.lnk{border:0;background:none;padding:.5rem 0;color:var(--lk);font-weight:600;cursor:pointer;min-height:2.75rem}
ul{list-style:none;margin:.6rem 0 0;padding:0;display:grid;gap:.55rem}
li{display:grid;grid-template-columns:minmax(0,1fr) 5.2rem;align-items:center;column-gap:.6rem;background:var(--card);border:1px solid var(--line);border-radius:14px;padding:.7rem .7rem .7rem .9rem}
li>*{grid-column:1}
.nm{min-width:0;font-weight:600;overflow-wrap:anywhere}
.x,.ok{grid-column:2;grid-row:1/4;justify-self:center}
.x{width:100%;min-width:2.9rem;min-height:2.9rem;padding:.3rem .4rem;border-radius:12px;border:1px solid var(--line);background:transparent;font-size:.92rem;font-weight:600;cursor:pointer}
.bar{height:.45rem;margin:.45rem 0 .3rem;border-radius:99px;background:var(--track);overflow:hidden}
.bar i{display:block;height:100%;width:0;border-radius:inherit;background:var(--acc);transition:width .25s linear}
.meta{display:flex;flex-wrap:wrap;gap:0 .7rem;min-width:0;overflow-wrap:anywhere;font-size:.92rem;color:var(--mut);font-variant-numeric:tabular-nums}
.pc{font-weight:650;color:var(--fg)}
[data-state=done] .bar i{background:var(--ok)}
[data-state=done] .pc{color:var(--ok)}
.ok{display:none;width:2.2rem;height:2.2rem;color:var(--ok)}
[data-state=done] .ok{display:block}
[data-state=failed] .bar i,[data-state=refused] .bar i{background:var(--err)}
[data-state=failed] .msg,[data-state=refused] .msg{color:var(--err);font-weight:500}
[data-state=cancelled] .nm,[data-state=cancelled] .bar{opacity:.75}
[data-state=failed] .pc,[data-state=refused] .pc{display:none}
.all{height:.3rem;margin:.5rem 0 .2rem}
#drop{position:fixed;inset:0;z-index:9;display:grid;place-items:center;pointer-events:none;background:var(--drop);border:4px dashed var(--acc);border-radius:20px;margin:.6rem}
#drop p{padding:1rem 1.6rem;border-radius:14px;background:var(--card);color:var(--fg);font-size:1.4rem;font-weight:700;box-shadow:0 10px 30px rgba(0,0,0,.2)}
@media (max-width:19.5em){li{grid-template-columns:minmax(0,1fr)}.x,.ok{grid-column:1;grid-row:auto;justify-self:start}.x{width:auto}}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
`
