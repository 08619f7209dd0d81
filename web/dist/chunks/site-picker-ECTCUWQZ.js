/* BalkonSolar dashboard; bundles preact, htm and uPlot (MIT): see /dist/LICENSES.txt */
var R=85.05112878,J=5,Y=o=>256*2**o;function X(o,c,u){let a=Math.sin(Math.max(-R,Math.min(R,o))*Math.PI/180),h=Y(u);return{x:(c+180)/360*h,y:(.5-Math.log((1+a)/(1-a))/(4*Math.PI))*h}}function Q(o,c,u){let a=Y(u),h=o/a*360-180;return{lat:Math.atan(Math.sinh(Math.PI*(1-2*c/a)))*180/Math.PI,lon:((h+180)%360+360)%360-180}}var S=o=>Math.round(o*1e4)/1e4,tt=(o,c,u,a)=>o.replace("{z}",c).replace("{x}",u).replace("{y}",a),W=({html:o,useEffect:c,useRef:u,useState:a,t:h})=>function({tiles:P,lat:w,lon:v,onPick:k,focus:$}){let f=u(null),[i,g]=a({w:320,h:260}),[p,z]=a(()=>({z:12,...X(Number.isFinite(w)?w:51,Number.isFinite(v)?v:10,12)})),[s,b]=a(0),[F,N]=a(0),y=u(null);c(()=>{let t=f.current,e=()=>g({w:t.clientWidth||320,h:t.clientHeight||260});e();let n=new ResizeObserver(e);return n.observe(t),()=>n.disconnect()},[]),c(()=>{$&&z({z:$.zoom,...X($.lat,$.lon,$.zoom)})},[$]);let I=(t,e,n=p)=>({x:n.x-i.w/2+t,y:n.y-i.h/2+e}),x=(t,e=i.w/2,n=i.h/2)=>z(l=>{let M=Math.max(2,Math.min(18,l.z+t));if(M===l.z)return l;let Z=I(e,n,l),j=2**(M-l.z);return{z:M,x:Z.x*j-e+i.w/2,y:Z.y*j-n+i.h/2}}),T=(t,e)=>{let n=I(t,e),l=Q(n.x,n.y,p.z);k(S(l.lat),S(l.lon))},m=t=>{let e=f.current,n=e.getBoundingClientRect();return{ox:t.clientX-n.left-e.clientLeft,oy:t.clientY-n.top-e.clientTop}},A=t=>{var e,n;t.button!==0||t.target.closest("button, a")||((n=(e=f.current).setPointerCapture)==null||n.call(e,t.pointerId),y.current={x0:t.clientX,y0:t.clientY,vx:p.x,vy:p.y,moved:!1})},L=t=>{let e=y.current;if(!e)return;let n=t.clientX-e.x0,l=t.clientY-e.y0;!e.moved&&Math.hypot(n,l)<J||(e.moved=!0,z(M=>({...M,x:e.vx-n,y:e.vy-l})))},r=t=>{let e=y.current;if(y.current=null,e&&!e.moved){let{ox:n,oy:l}=m(t);T(n,l)}},d=t=>{t.preventDefault();let{ox:e,oy:n}=m(t);x(t.deltaY<0?1:-1,e,n)},O=t=>{let e={ArrowLeft:[-64,0],ArrowRight:[64,0],ArrowUp:[0,-64],ArrowDown:[0,64]}[t.key];if(e)z(n=>({...n,x:n.x+e[0],y:n.y+e[1]}));else if(t.key==="+"||t.key==="=")x(1);else if(t.key==="-")x(-1);else if(t.key==="Enter")T(i.w/2,i.h/2);else return;t.preventDefault()},_=2**p.z,E=p.x-i.w/2,C=p.y-i.h/2,B=[];for(let t=Math.max(0,Math.floor(C/256));t<=Math.min(_-1,Math.floor((C+i.h)/256));t++)for(let e=Math.floor(E/256);e<=Math.floor((E+i.w)/256);e++){let n=(e%_+_)%_;B.push(o`<img key=${`${p.z}/${e}/${t}`} class="map-tile" alt="" draggable="false" referrerpolicy="strict-origin"
        src=${tt(P,p.z,n,t)} style=${{left:`${e*256-E}px`,top:`${t*256-C}px`}}
        onLoad=${()=>N(l=>l+1)} onError=${l=>{l.currentTarget.style.visibility="hidden",b(M=>M+1)}} />`)}let q=Number.isFinite(w)&&Number.isFinite(v)?X(w,v,p.z):null,K="";try{K=new URL(P).host}catch{}return o`<div class="map" ref=${f} tabindex="0" role="application" aria-label=${h("map.label")} data-testid="site-map"
      data-zoom=${p.z}
      onPointerDown=${A} onPointerMove=${L} onPointerUp=${r}
      onPointerCancel=${()=>{y.current=null}} onWheel=${d} onKeyDown=${O}>
    ${B}
    ${q&&o`<span class="map-marker" data-testid="site-map-marker" aria-hidden="true"
      style=${{left:`${q.x-E}px`,top:`${q.y-C}px`}}></span>`}
    <div class="map-zoom">
      <button type="button" data-testid="map-zoom-in" aria-label=${h("map.zoomIn")} onClick=${()=>x(1)}>+</button>
      <button type="button" data-testid="map-zoom-out" aria-label=${h("map.zoomOut")} onClick=${()=>x(-1)}>−</button>
    </div>
    <div class="map-credit">© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener noreferrer">${h("map.osm")}</a></div>
    ${s>0&&F===0&&o`<p class="map-failed" role="status" data-testid="map-failed">${h("map.failed",{origin:K})}</p>`}
  </div>`};var H=o=>Math.round(o*1e4)/1e4,V=o=>{try{return new URL(o).host}catch{return""}},G=o=>o===""||o==null?NaN:Number(o),U=o=>[o.name,o.postcode,o.admin1,o.country].filter(Boolean).join(", "),et=14;function rt(o){let{html:c,useState:u,t:a,lang:h,get:D,query:P}=o,w=W(o);return function({ctx:k}){var L;let $=((L=k.saved)==null?void 0:L.site)||{},f=k.draft.site||{},i=$.map_tiles_url||"",g=$.geocoder_url||"",[p,z]=u(""),[s,b]=u(null),[F,N]=u(null);if(!i&&!g)return null;let y=(r,d,O)=>{k.change("site.latitude",r),k.change("site.longitude",d),O&&k.change("site.timezone",O)},I=async()=>{let r=p.trim();if(r){b({busy:!0});try{let d=await D(`/geocode?${P({q:r,lang:h()})}`);b({results:d.results||[],q:r})}catch(d){b({error:d.message})}}},x=r=>{y(H(r.latitude),H(r.longitude),r.timezone),N({lat:r.latitude,lon:r.longitude,zoom:et}),b({picked:r.timezone?`${U(r)} (${r.timezone})`:U(r)})},T=(r,d)=>{y(r,d),b({picked:`${r.toFixed(4)}, ${d.toFixed(4)}`})},m=s==null?void 0:s.results,A=[g&&a("picker.viaSearch",{host:V(g)}),i&&a("picker.viaMap",{host:V(i)})].filter(Boolean).join(" ");return c`<div class="site-picker" data-testid="site-picker">
      ${g&&c`<div class="field"><label for="place-q">${a("picker.search")}</label>
        <div class="input-row">
          <input id="place-q" type="search" data-testid="place-q" value=${p} autocomplete="off" enterkeyhint="search"
            placeholder=${a("picker.placeholder")} maxlength="100" onInput=${r=>z(r.currentTarget.value)}
            onKeyDown=${r=>{r.key==="Enter"&&(r.preventDefault(),I())}} />
          <button type="button" data-testid="place-search" disabled=${(s==null?void 0:s.busy)||!p.trim()} onClick=${I}>
            ${s!=null&&s.busy?a("picker.searching"):a("picker.searchButton")}</button>
        </div></div>`}
      ${(m==null?void 0:m.length)>0&&c`<ul class="place-results" data-testid="place-results" aria-label=${a("picker.results")}>
        ${m.map((r,d)=>c`<li key=${d}><button type="button" class="secondary" data-testid=${`place-result-${d}`}
          onClick=${()=>x(r)}>${U(r)}</button></li>`)}</ul>`}
      ${m&&!m.length&&c`<p class="hint" role="status" data-testid="place-none">${a("picker.none",{q:s.q})}</p>`}
      ${(s==null?void 0:s.error)&&c`<p class="field-error" role="alert" data-testid="place-error">${s.error}</p>`}
      ${(s==null?void 0:s.picked)&&c`<p class="ok" role="status" data-testid="place-picked">${a("picker.picked",{place:s.picked})}</p>`}
      ${i&&c`<p class="hint">${a("picker.mapHint")}</p>
        <${w} tiles=${i} lat=${G(f.latitude)} lon=${G(f.longitude)} focus=${F} onPick=${T} />`}
      <p class="hint" data-testid="site-picker-where">${A}</p>
    </div>`}}export{rt as makeSitePicker};
